"""Tables people open in a spreadsheet: CSV (UTF-8 with a BOM, so Excel shows Chinese) and
XLSX (openpyxl's write-only mode: memory stays flat however many rows). Every export goes
through here, so every one is formula-safe: a text cell starting with = + - @ (or a tab or
carriage return) is written with a leading apostrophe and never runs as a formula. Numbers
stay numbers: money in yuan is a Decimal, never text."""
import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

from openpyxl import Workbook

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _safe_rows(rows: Iterable[Sequence]) -> Iterable[list]:
    return ([safe_cell(value) for value in row] for row in rows)


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
    book = Workbook(write_only=True)
    for title, header, rows in sheets:
        sheet = book.create_sheet(title[:31])
        if freeze:
            sheet.freeze_panes = freeze
        sheet.append([safe_cell(name) for name in header])
        for row in _safe_rows(rows):
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def yuan(fen: int | None) -> Decimal | None:
    """Fen as yuan with two decimals (−150 fen is −1.50), a number in both formats."""
    return None if fen is None else Decimal(fen).scaleb(-2)
