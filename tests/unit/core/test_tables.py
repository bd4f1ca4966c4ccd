"""The one tabular writer every export uses: formula-safe text, numbers as numbers."""
import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

from openpyxl import load_workbook

from booking.core.tables import csv_bytes, workbook_bytes, xlsx_bytes, yuan

HOSTILE = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "安全"]


def test_negative_amounts_keep_their_value():
    assert yuan(-150) == Decimal("-1.50")
    assert [yuan(f) for f in (0, 5, 7700, -1, None)] == [Decimal("0.00"), Decimal("0.05"),
                                                          Decimal("77.00"), Decimal("-0.01"),
                                                          None]


def test_csv_text_never_starts_a_formula_and_numbers_stay_numbers():
    body = csv_bytes(["name", "amount"], [[text, yuan(-150)] for text in HOSTILE])
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))[1:]
    assert [r[0] for r in rows] == ["'" + t for t in HOSTILE[:5]] + ["安全"]
    assert {r[1] for r in rows} == {"-1.50"}


def test_xlsx_text_never_starts_a_formula_and_numbers_stay_numbers():
    sheet = load_workbook(io.BytesIO(xlsx_bytes("t", ["name", "amount"], [
        [text, yuan(-150)] for text in HOSTILE]))).active
    values = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [v[0] for v in values] == ["'" + t for t in HOSTILE[:5]] + ["安全"]
    assert {v[1] for v in values} == {-1.5}
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_several_sheets():
    book = load_workbook(io.BytesIO(workbook_bytes([("a", ["x"], [[1]]), ("b", ["y"], [["=1"]])])))
    assert book.sheetnames == ["a", "b"] and book["b"]["A2"].value == "'=1"


def test_times_are_written_on_the_local_wall_clock():
    # 2026-12-31 17:30 UTC is 2027-01-01 01:30 in Shanghai: the date a person would write
    moment = datetime(2026, 12, 31, 17, 30, 5, 123, tzinfo=UTC)
    book = load_workbook(io.BytesIO(xlsx_bytes("t", ["at"], [[moment]])))
    cell = book["t"]["A2"]  # a real date cell, to the second
    assert cell.value == datetime(2027, 1, 1, 1, 30, 5)
    assert cell.number_format == "yyyy-mm-dd hh:mm:ss"
    text = csv_bytes(["at"], [[moment]]).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text)))[1] == ["2027-01-01 01:30:05"]


def test_xlsx_cells_keep_their_kind_and_the_header_stays_in_view():
    from datetime import date

    # money two decimals, counts and hours as they are, text unescaped, the forbidden
    # control characters of XML dropped, dates as dates, empty cells in their place
    row = [Decimal("7700.00"), 3, 2.5, "<a & b>", "bad\x00\x1fchars", date(2026, 4, 1), None, True]
    book = load_workbook(io.BytesIO(xlsx_bytes("收费/明细", ["金额", "n", "h", "t", "c", "d", "e",
                                                             "b"], [row], freeze="B2")))
    sheet = book.active
    assert book.sheetnames == ["收费 明细"]  # "/" is not allowed in a sheet name
    values = next(sheet.iter_rows(min_row=2, values_only=True))
    assert values == (7700, 3, 2.5, "<a & b>", "badchars", datetime(2026, 4, 1), None, True)
    assert sheet["A2"].number_format == "#,##0.00" and sheet["F2"].number_format == "yyyy-mm-dd"
    assert sheet["A1"].font.b and sheet.freeze_panes == "B2"


def test_a_long_export_streams_with_flat_memory():
    import tracemalloc

    rows = ([n, f"INV-{n:06d}", "大连理工大学", Decimal("875.00"), datetime(2026, 3, 2, 1, tzinfo=UTC)]
            for n in range(20_000))
    tracemalloc.start()
    body = xlsx_bytes("usage", ["n", "number", "org", "fee", "at"], rows)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4 * 1024 * 1024  # the rows never sit in memory together (as XML ~3 MB)
    sheet = load_workbook(io.BytesIO(body), read_only=True).active
    assert sum(1 for _ in sheet.iter_rows(min_row=2)) == 20_000


def test_a_csv_download_names_its_charset_once():
    from flask import Flask

    from booking.core.tables import download

    with Flask(__name__).app_context():
        response = download("csv", "usage", ["a"], [[1]])
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="usage.csv"'


def test_columns_are_as_wide_as_their_headers_and_first_values():
    """Reported: Chinese headers and descriptions were cut at a fixed width of 16."""
    from io import BytesIO

    from openpyxl import load_workbook

    from booking.core import xlsx

    header = ["日期", "摘要", "扣款后经费余额（元）", "id"]
    rows = [["2026-11-24", "扫描电子显微镜 2026-11-24 预约占用经费", Decimal("16657.50"), 7]]
    assert xlsx.column_widths(header, rows) == [12, 40, 22, 8]
    sheet = load_workbook(BytesIO(xlsx.workbook([("s", header, rows * 100)]))).active
    assert [round(sheet.column_dimensions[c].width) for c in "ABCD"] == [12, 40, 22, 8]
    assert sheet.max_row == 101  # the rows read ahead to size the columns are written too
    assert xlsx.column_widths(["x"], [["长" * 100]]) == [60]
