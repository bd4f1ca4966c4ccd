"""Importing an asset list: all or nothing, skipping bad rows, re-import by asset number, the
dry run, the audit trail, the CLI."""
import io
import zipfile
from datetime import date

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from booking.core.audit import AuditEvent
from booking.extensions import db
from booking.instruments import importing
from booking.instruments.models import Instrument

HEADER = ["资产编号", "仪器名称", "型号", "分类代码", "原值（元）", "购置日期", "服务方式",
          "收费标准（元/小时）"]
GOOD = [["ZC-1", "扫描电镜", "SU8010", "0101", "2350000", "2021/3/5", "两者", "300"],
        ["ZC-2", "X射线衍射仪", "D8", "0103", "1200000", 44260, "送样", ""]]
BAD = ["ZC-3", "", "X", "9999", "abc", "someday", "两者", ""]


def _xlsx(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _count(org) -> int:
    return db.session.scalar(select(func.count()).select_from(Instrument).where(
        Instrument.organisation_id == org.id))


def _run(org, rows, **options):
    table = importing.read_table(_xlsx(rows), "list.xlsx")
    return importing.import_instruments(org, table, None, today=date(2026, 12, 4), **options)


def test_import_creates_with_class_category_and_rates(make):
    org = make.organisation()
    result = _run(org, [HEADER, *GOOD])
    assert (result.created, result.written) == (2, True)
    sem = db.session.scalar(select(Instrument).where(Instrument.asset_number == "ZC-1"))
    assert (sem.national_class, sem.category, sem.original_value_fen) == (
        "0101", "analytical", 235_000_000)
    assert sorted(r.hourly_fen for r in sem.rates) == [30_000] * 3
    xrd = db.session.scalar(select(Instrument).where(Instrument.asset_number == "ZC-2"))
    assert (xrd.allows_self_operated, xrd.allows_staff_operated, xrd.rates) == (False, True, [])
    assert db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "instruments.imported")).data["created"] == 2


def test_one_bad_row_writes_nothing_unless_skipped(make):
    org = make.organisation()
    result = _run(org, [HEADER, *GOOD, BAD])
    assert not result.written and result.skipped == 1 and _count(org) == 0
    assert {p.column for p in result.problems} == {"仪器名称", "分类代码", "原值（元）",
                                                   "购置日期"}
    assert {p.row for p in result.problems} == {4}
    result = _run(org, [HEADER, *GOOD, BAD], skip_invalid=True)
    assert result.written and (result.created, result.skipped) == (2, 1) and _count(org) == 2


def test_dry_run_writes_nothing_and_predicts(make):
    org = make.organisation()
    _run(org, [HEADER, GOOD[0]])
    changed = [*GOOD[0][:2], "SU9000", *GOOD[0][3:]]
    result = _run(org, [HEADER, changed, GOOD[1]], dry_run=True)
    assert (result.created, result.updated, result.unchanged, result.written) == (
        1, 1, 0, False)
    assert _count(org) == 1
    assert db.session.scalar(select(Instrument.model).where(
        Instrument.asset_number == "ZC-1")) == "SU8010"


def test_reimport_updates_by_asset_number_without_duplicates(make):
    org, other = make.organisation(), make.organisation()
    _run(other, [HEADER, GOOD[0]])  # the same asset number elsewhere is another instrument
    _run(org, [HEADER, *GOOD])
    again = _run(org, [HEADER, [*GOOD[0][:2], "SU9000", *GOOD[0][3:7], "350"], GOOD[1]])
    assert (again.created, again.updated, again.unchanged) == (0, 1, 1)
    assert again.changes == [(2, "ZC-1", ["型号"])]
    assert _count(org) == 2 and _count(other) == 1
    sem = db.session.scalar(select(Instrument).where(Instrument.organisation_id == org.id,
                                                     Instrument.asset_number == "ZC-1"))
    # its rates are the console's now: the list's other fee is named, not applied
    assert sem.model == "SU9000" and {r.hourly_fen for r in sem.rates} == {30_000}
    assert again.rates_kept == [(2, "ZC-1")]
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "instrument.updated", AuditEvent.object_id == sem.id)).one()
    assert event.data["before"]["model"] == "SU8010" and event.data["after"]["model"] == "SU9000"


def test_reimport_leaves_the_rates_the_lab_set_in_its_console(make):
    """Reported: a lab set 200 / 350 / 500 per hour for its three classes; re-importing the
    unchanged asset list (300) put every class back at 300, and the dry run said only
    "1 updated"."""
    org = make.organisation()
    _run(org, [HEADER, GOOD[0]])
    sem = db.session.scalar(select(Instrument).where(Instrument.asset_number == "ZC-1"))
    for rate in sem.rates:
        rate.hourly_fen = {"internal": 20_000, "academic": 35_000,
                           "enterprise": 50_000}[rate.customer_class]
    db.session.flush()
    again = _run(org, [HEADER, GOOD[0]])
    assert (again.updated, again.unchanged, again.rates_kept) == (0, 1, [(2, "ZC-1")])
    assert sorted(r.hourly_fen for r in sem.rates) == [20_000, 35_000, 50_000]
    _run(org, [HEADER, GOOD[1]])
    xrd = _run(org, [HEADER, [*GOOD[1][:7], "120"]])  # no rate yet: the list's fee prices it
    assert xrd.changes == [(2, "ZC-2", ["收费标准（元/小时）"])]
    assert sorted(r.hourly_fen for r in db.session.scalar(select(Instrument).where(
        Instrument.asset_number == "ZC-2")).rates) == [12_000] * 3


def test_real_sheets_say_what_they_lose_and_lost(make):
    """Columns the template has not are named (a class code of another scheme stays out of
    the national class unseen otherwise); a class code Excel took for a number is read with
    its 0; the template's own example row is refused."""
    org = make.organisation()
    result = _run(org, [[*HEADER, "国别", "备注"], ["ZC-9", "电镜", "X", 101, "", "", "两者",
                                                   "", "日本", "-"]])
    assert result.ignored_columns == ["国别", "备注"] and result.created == 1
    assert db.session.scalar(select(Instrument.national_class).where(
        Instrument.asset_number == "ZC-9")) == "0101"
    example = _run(org, [HEADER, ["ZC-2021-00017", "场发射扫描电子显微镜", "SU8010", "0101", "1",
                                  "2021-03-05", "两者", "300"]], dry_run=True)
    assert [p.problem.code for p in example.problems] == ["template_example"]


def test_a_picture_is_not_taken_for_a_csv_file():
    with pytest.raises(importing.UnreadableFile) as refused:
        importing.read_table(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "list.png")
    assert refused.value.problem.code == "not_a_table"


def test_csv_in_gbk_and_english_headers(make):
    org = make.organisation()
    text = "Asset number,Instrument name,Purchase date\r\nA-1,电镜 ,2021/3/5\r\n"
    table = importing.read_table(text.encode("gb18030"), "list.csv")
    result = importing.import_instruments(org, table, None, today=date(2026, 12, 4))
    assert result.created == 1 and result.written


def test_unreadable_files(make):
    import pytest

    with pytest.raises(importing.UnreadableFile):
        importing.read_table(b"PK\x03\x04garbage", "list.xlsx")
    with pytest.raises(importing.UnreadableFile):
        importing.read_table(b"\xd0\xcf\x11\xe0 old excel", "list.xls")
    with pytest.raises(importing.UnreadableFile):
        importing.read_table(b"x" * (importing.MAX_FILE_BYTES + 1), "list.csv")


def _rewritten(workbook: bytes, part: str, body: bytes | None) -> bytes:
    """`workbook` with one part replaced by `body` (None: left out)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(workbook)) as old, zipfile.ZipFile(out, "w") as new:
        for info in old.infolist():
            if info.filename != part:
                new.writestr(info, old.read(info))
        if body is not None:
            new.writestr(part, body, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


@pytest.mark.parametrize("part, body", [
    ("xl/worksheets/sheet1.xml", b"<worksheet><sheetData><row><c"),  # broken XML
    ("xl/workbook.xml", b"<workbook xmlns='http://schemas.openxmlformats.org/spreadsheetml/"
                        b"2006/main'><sheets/></workbook>"),  # no sheet
    ("[Content_Types].xml", b"<Types"),
    ("xl/sharedStrings.xml", b"\0" * (importing.MAX_UNPACKED_BYTES + 1)),  # unpacks to 64 MB
], ids=["sheet_xml", "no_sheet", "content_types", "zip_bomb"])
def test_a_damaged_workbook_is_unreadable_not_a_crash(part, body):
    damaged = _rewritten(_xlsx([HEADER, *GOOD]), part, body)
    assert len(damaged) < importing.MAX_FILE_BYTES
    with pytest.raises(importing.UnreadableFile):
        importing.read_table(damaged, "list.xlsx")


def test_cli_dry_run_then_import(app, make, tmp_path):
    org = make.organisation()
    db.session.commit()  # the refused run rolls back
    path = tmp_path / "list.xlsx"
    path.write_bytes(_xlsx([HEADER, *GOOD, BAD]))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["instruments", "import", str(path), "--org", org.credit_code,
                                 "--dry-run"])
    assert result.exit_code == 0 and "dry run, nothing written" in result.output
    assert "row 4, 仪器名称" in result.output and _count(org) == 0
    result = runner.invoke(args=["instruments", "import", str(path), "--org", org.credit_code])
    assert result.exit_code == 1 and _count(org) == 0
    manager = make.user(role="lab_manager", organisation=org)
    db.session.commit()
    result = runner.invoke(args=["instruments", "import", str(path), "--org", org.credit_code,
                                 "--skip-invalid", "--by", manager.email])
    assert result.exit_code == 0 and "2 created" in result.output and _count(org) == 2
    assert "row 4, 仪器名称: This column must not be empty." in result.output  # English
    assert db.session.scalar(select(AuditEvent.actor_id).where(
        AuditEvent.action == "instruments.imported")) == manager.id


@pytest.mark.parametrize("target", ["deactivated", "bureau", "enterprise"])
def test_cli_refuses_an_organisation_that_lists_no_instruments(app, make, tmp_path, target):
    """Reported: the command imported into a deactivated enterprise (then public, and in the
    region's NRII report) and into the bureau; the web page offers neither."""
    org = {"deactivated": lambda: make.organisation(active=False),
           "bureau": lambda: make.organisation(kind="bureau"),
           "enterprise": lambda: make.enterprise()}[target]()
    db.session.commit()
    path = tmp_path / "list.xlsx"
    path.write_bytes(_xlsx([HEADER, *GOOD]))
    result = app.test_cli_runner().invoke(args=["instruments", "import", str(path), "--org",
                                                org.credit_code])
    assert result.exit_code == 1 and _count(org) == 0
    assert "deactivated" in result.output or "lists no instruments" in result.output


def test_cli_names_whom_the_audit_trail_names_only_if_they_may_import(app, make, tmp_path):
    org = make.organisation()
    outsider = make.user(role="lab_manager", organisation=make.organisation())
    former = make.user(role="lab_manager", organisation=org)
    former.active = False  # deactivated, roles kept
    db.session.commit()
    path = tmp_path / "list.xlsx"
    path.write_bytes(_xlsx([HEADER, *GOOD]))
    for who in (outsider, former):
        result = app.test_cli_runner().invoke(args=["instruments", "import", str(path),
                                                    "--org", org.credit_code, "--by", who.email])
        assert result.exit_code == 1 and "may not import" in result.output and _count(org) == 0
    result = app.test_cli_runner().invoke(args=["instruments", "import", str(path), "--org",
                                                org.credit_code])
    assert result.exit_code == 0 and _count(org) == 2
    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "instruments.imported"))
    assert (event.actor_id, event.data["via"]) == (None, "cli")
