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
    assert list(book["t"].iter_rows(values_only=True))[1] == ("2027-01-01 01:30:05",)
    text = csv_bytes(["at"], [[moment]]).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text)))[1] == ["2027-01-01 01:30:05"]
