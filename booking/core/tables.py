"""Tables people open in a spreadsheet: CSV (UTF-8 with a BOM, so Excel shows Chinese) and
XLSX (core/xlsx.py, streaming: memory stays flat however many rows). Every export goes through
here, so every one is formula-safe: a text cell starting with = + - @ (or a tab or carriage
return) is written with a leading apostrophe and never runs as a formula. Numbers stay
numbers: money in yuan is a Decimal, never text (XLSX shows it with two decimals). Times are
on the bureau's local wall clock, never in UTC: real date cells in XLSX, "2026-03-02
09:00:00" in CSV."""
import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from urllib.parse import quote

from flask import Response

from booking.core import xlsx
from booking.core.clock import BUSINESS_ZONE
from booking.core.money import fen_to_yuan

FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _local(moment: datetime) -> datetime:
    return moment.astimezone(BUSINESS_ZONE).replace(tzinfo=None, microsecond=0)


def safe_cell(value):
    kind = type(value)  # exact types first: an export writes millions of cells
    if kind is str:
        return "'" + value if value.startswith(_FORMULA_STARTS) else value
    if isinstance(value, datetime) and value.tzinfo is not None:
        return _local(value).isoformat(" ", "seconds")
    return value


def _xlsx_cell(value):
    """As safe_cell, but times stay times (on the local wall clock) for a date cell."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return _local(value)
    return safe_cell(value)


_PLAIN = frozenset({int, float, Decimal, bool, type(None)})  # written as they are


def _safe_rows(rows: Iterable[Sequence], cell=safe_cell) -> Iterable[list]:
    return ([value if type(value) in _PLAIN else cell(value) for value in row]
            for row in rows)


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(_safe_rows(rows))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def xlsx_bytes(title: str, header: Sequence[str], rows: Iterable[Sequence],
               freeze: str | None = None) -> bytes:
    return workbook_bytes([(title, header, rows)], freeze)


def workbook_bytes(sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence]]],
                   freeze: str | None = None) -> bytes:
    """Several sheets: (title, header, rows) each."""
    return xlsx.workbook([(title, [safe_cell(name) for name in header],
                           _safe_rows(rows, _xlsx_cell)) for title, header, rows in sheets],
                         freeze)


yuan = fen_to_yuan  # −150 fen is −1.50, a number in both formats


def attachment(body: bytes, fmt: str, name: str) -> Response:
    """A spreadsheet download named `name`.`fmt`."""
    return Response(body, content_type=FORMATS[fmt],
                    headers={"Content-Disposition": content_disposition(f"{name}.{fmt}")})


def content_disposition(filename: str) -> str:
    """An attachment header for any file name (a project number in Chinese, quotes): the
    name itself by RFC 6266's filename*, and a plain ASCII one for older clients. A header
    carries Latin-1 only: 横向2026 written into it as such failed the whole answer."""
    plain = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_"
                    for c in filename)
    if plain == filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


def download(fmt: str, name: str, header: Sequence[str], rows: Iterable[Sequence],
             freeze: str | None = None, sheet: str | None = None) -> Response:
    """One table as CSV or XLSX (`fmt`, one of FORMATS; the sheet is `sheet` or `name`)."""
    body = csv_bytes(header, rows) if fmt == "csv" else \
        xlsx_bytes(sheet or name, header, rows, freeze)
    return attachment(body, fmt, name)
