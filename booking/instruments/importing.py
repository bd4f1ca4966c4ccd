"""Importing an organisation's asset spreadsheet (CSV or XLSX) into the catalogue: read the
file into rows, check every row with import_rules, then write all of it in one flush (or, with
skip_invalid, the rows without problems). Re-importing updates instruments by 资产编号. A dry
run writes nothing. Flushes, never commits: the route or CLI commits once."""
import csv
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from openpyxl import load_workbook
from sqlalchemy import select

from booking.accounts.models import Organisation, User
from booking.accounts.rules import PROVIDER_KINDS
from booking.core import audit
from booking.core.clock import local_today, now_utc
from booking.core.problems import Problem, _l
from booking.extensions import db
from booking.instruments import import_rules, search_index
from booking.instruments.import_rules import RowProblem
from booking.instruments.models import Instrument, Rate
from booking.instruments.rules import CUSTOMER_CLASSES, effective_rates

# organisations whose instruments the catalogue lists
OWNER_KINDS = (*PROVIDER_KINDS, "pilot_base", "incubator")
MAX_FILE_BYTES = 5 * 1024 * 1024
# how files that are no table begin (a CSV decodes as GB18030 whatever its bytes): PNG, PDF,
# JPEG, GIF, an old Office document (.xls, .doc)
_NOT_TABLES = (b"\x89PNG", b"%PDF", b"\xff\xd8\xff", b"GIF8", b"\xd0\xcf\x11\xe0")
MAX_UNPACKED_BYTES = 64 * 1024 * 1024  # what the zip of an XLSX may hold once unpacked
MAX_COLUMNS = 60
FORMATS = ("csv", "xlsx")


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    written: bool = False
    dry_run: bool = False
    # (row, asset number, the headers of the columns it changes) of each instrument updated
    changes: list[tuple[int, str, list[str]]] = field(default_factory=list)
    # (row, asset number) of instruments whose console rates the list's other fee leaves alone
    rates_kept: list[tuple[int, str]] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)  # headers of columns not read


def _xlsx_rows(data: bytes, limit: int) -> list[list]:
    """The first sheet's first `limit` rows. A workbook that would unpack to more than
    MAX_UNPACKED_BYTES is refused before it is read (a 5 MB zip may hold gigabytes of XML)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED_BYTES:
            raise ValueError("the workbook unpacks to too much")
    book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        rows = []
        for row in book.worksheets[0].iter_rows(values_only=True, max_col=MAX_COLUMNS):
            rows.append(list(row))
            if len(rows) > limit:
                break
        return rows
    finally:
        book.close()


class UnreadableFile(Exception):
    def __init__(self, problem: Problem):
        super().__init__(problem.message)
        self.problem = problem


def read_table(data: bytes, filename: str) -> list[list]:
    """The first sheet's rows (cell values) of an XLSX file, or a CSV file's rows (UTF-8,
    with or without BOM, or GB18030 as Excel saves it on Chinese Windows)."""
    if len(data) > MAX_FILE_BYTES:
        raise UnreadableFile(Problem("too_large", _l("The file is larger than 5 MB.")))
    limit = import_rules.MAX_ROWS + import_rules.HEADER_SCAN_ROWS + 1
    if data[:2] == b"PK":
        try:
            return _xlsx_rows(data, limit)
        # a damaged or hand-made workbook fails anywhere: in the zip, in any part's XML
        # (SyntaxError covers both XML parsers' errors), or with no sheet at all
        except (zipfile.BadZipFile, KeyError, ValueError, OSError, IndexError, SyntaxError,
                TypeError) as exc:
            raise UnreadableFile(Problem("unreadable", _l(
                "This file cannot be read as XLSX."))) from exc
    if (filename or "").lower().endswith((".xls", ".xlsx")):
        raise UnreadableFile(Problem("unreadable", _l(
            "This file cannot be read as XLSX (save it as .xlsx or .csv).")))
    if data.startswith(_NOT_TABLES):
        raise UnreadableFile(Problem("not_a_table", _l(
            "This is neither an XLSX nor a CSV file: save the list as .xlsx or .csv.")))
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UnreadableFile(Problem("encoding", _l("The CSV file is neither UTF-8 nor GBK.")))
    rows = []
    for row in csv.reader(io.StringIO(text)):
        rows.append(row[:MAX_COLUMNS])
        if len(rows) > limit:
            break
    return rows


def owner_problem(organisation: Organisation) -> Problem | None:
    """Why instruments cannot be imported into the organisation, if they cannot: the web
    page offers only those that can, the command line is told."""
    if not organisation.active:
        return Problem("inactive", _l("%(name)s is deactivated."),
                       {"name": organisation.name_zh})
    if organisation.kind not in OWNER_KINDS:
        return Problem("not_owner", _l(
            "%(name)s is not a university, institute, pilot base or incubator: it lists no "
            "instruments."), {"name": organisation.name_zh})
    return None


def can_import(user: User, organisation: Organisation) -> bool:
    """Bureau staff into any organisation that lists instruments, lab managers into theirs."""
    return user.is_authenticated and user.active and owner_problem(organisation) is None and (
        user.is_bureau or user.can_manage_organisation(organisation.id))


def _existing(organisation: Organisation, assets: list[str]) -> dict[str, Instrument]:
    found = {}
    for chunk in range(0, len(assets), 500):
        found.update((i.asset_number, i) for i in db.session.scalars(select(Instrument).where(
            Instrument.organisation_id == organisation.id,
            Instrument.asset_number.in_(assets[chunk:chunk + 500]))))
    return found


def _changes(instrument: Instrument, fields: dict, hourly_fen: int | None) -> dict:
    """What the row changes. The list's fee prices an instrument that has no rate yet; once it
    has rates, they are the lab console's (a class each, rounding, minimum charge) and the
    list's single fee does not overwrite them."""
    changed = {k: (getattr(instrument, k), v) for k, v in fields.items()
               if getattr(instrument, k) != v}
    if hourly_fen is not None and not instrument.rates:
        changed["hourly_fen"] = (None, hourly_fen)
    return changed


def _rates_differ(instrument: Instrument, hourly_fen: int | None) -> bool:
    """The list gives a fee that none of the instrument's rates in force charges."""
    if hourly_fen is None or not instrument.rates:
        return False
    in_force = effective_rates(instrument.rates, now_utc()).values()
    return all(rate.hourly_fen != hourly_fen for rate in in_force)


def _rates(hourly_fen: int, valid_from) -> list[Rate]:
    """The list's fee for every customer class (the lab differentiates later in its console)."""
    return [Rate(customer_class=c, hourly_fen=hourly_fen, valid_from=valid_from)
            for c in CUSTOMER_CLASSES]


def import_instruments(organisation: Organisation, rows: list[list], actor: User | None, *,
                       dry_run: bool = False, skip_invalid: bool = False, source: str = "",
                       via: str = "web",
                       progress: Callable[[int], None] | None = None,
                       today: date | None = None) -> ImportResult:
    today = today or local_today()
    header, parsed, problems = import_rules.parse_table(rows, today)
    result = ImportResult(rows=len(parsed), dry_run=dry_run,
                          ignored_columns=header.ignored if header else [])
    result.problems = problems + [p for row in parsed for p in row.problems]
    if problems or header is None:  # the table itself is wrong: no row can be trusted
        result.skipped = len(parsed)
        return result
    good = [row for row in parsed if not row.problems]
    result.skipped = len(parsed) - len(good)
    if result.skipped and not skip_invalid and not dry_run:
        return result  # all or nothing
    existing = _existing(organisation, [r.values["asset_number"] for r in good])
    now = now_utc()
    created, updated = [], []
    for done, row in enumerate(good, start=1):
        fields = import_rules.instrument_fields(row.values)
        hourly = row.values.get("hourly_fen")
        instrument = existing.get(fields["asset_number"])
        if instrument is None:
            result.created += 1
            if not dry_run:
                instrument = Instrument(organisation=organisation, info_updated_at=now,
                                        **{"category": "other", **fields})
                if hourly is not None:
                    instrument.rates = _rates(hourly, now)
                created.append(instrument)
        else:
            changes = _changes(instrument, fields, hourly)
            if _rates_differ(instrument, hourly):
                result.rates_kept.append((row.row, fields["asset_number"]))
            if not changes:
                result.unchanged += 1
            else:
                result.updated += 1
                result.changes.append((row.row, fields["asset_number"], list(dict.fromkeys(
                    header.label_of(key) for key in changes))))
                if not dry_run:
                    _apply(instrument, fields, changes, now)
                    updated.append((instrument, changes))
        if progress and done % 100 == 0:
            progress(100)
    if progress:
        progress(len(good) % 100)
    if dry_run:
        return result
    _write(organisation, actor, created, updated, result, source, via)
    return result


def _apply(instrument: Instrument, fields: dict, changes: dict, now) -> None:
    for key, value in fields.items():
        setattr(instrument, key, value)
    if "hourly_fen" in changes:
        instrument.rates.extend(_rates(changes["hourly_fen"][1], now))
    instrument.info_updated_at = now


def _write(organisation, actor, created, updated, result, source, via) -> None:
    db.session.add_all(created)
    db.session.flush()
    touched = created + [i for i, _ in updated]
    search_index.write([search_index.document(i) for i in touched])
    audit.record_each("instrument.created", created, actor=actor, data_of=lambda i: {
        "via": "import", "asset_number": i.asset_number, "organisation_id": organisation.id})
    changes_of = {i.id: c for i, c in updated}
    audit.record_each("instrument.updated", [i for i, _ in updated], actor=actor,
                      data_of=lambda i: {
                          "via": "import", "asset_number": i.asset_number,
                          "before": {k: _plain(v[0]) for k, v in changes_of[i.id].items()},
                          "after": {k: _plain(v[1]) for k, v in changes_of[i.id].items()}})
    audit.record("instruments.imported", actor=actor, obj=organisation, source=source[:200],
                 via=via,  # "cli": the command line, where --by names whom it says
                 rows=result.rows, created=result.created, updated=result.updated,
                 unchanged=result.unchanged, skipped=result.skipped,
                 organisation_id=organisation.id)
    result.written = True


def _plain(value):
    return value.isoformat() if isinstance(value, date) else value


def template(fmt: str, english: bool = False) -> bytes:
    from booking.core.tables import csv_bytes, xlsx_bytes

    header = [c.en if english else c.zh for c in import_rules.COLUMNS]
    rows = [list(import_rules.TEMPLATE_EXAMPLE)]
    if fmt == "csv":
        return csv_bytes(header, rows)
    return xlsx_bytes("仪器清单" if not english else "Instruments", header, rows, freeze="A2")
