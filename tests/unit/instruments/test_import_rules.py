"""The import's pure rules on the mess of real asset spreadsheets."""
from datetime import date, datetime

import pytest

from booking.instruments import classification
from booking.instruments import import_rules as rules

TODAY = date(2026, 12, 4)


def test_headers_in_chinese_english_with_units_and_full_width_brackets():
    assert rules.match_header("资产编号") == ("asset_number", False)
    assert rules.match_header(" Asset number ") == ("asset_number", False)
    assert rules.match_header("原值（元）") == ("original_value", False)
    assert rules.match_header("原值(万元)") == ("original_value", True)
    assert rules.match_header("收费标准（元/小时）") == ("hourly_fee", False)
    assert rules.match_header("Fee (CNY per hour)") == ("hourly_fee", False)
    assert rules.match_header("备注") == (None, False)


def test_header_found_under_a_title_and_merged_over_two_rows():
    rows = [["XX大学仪器清单", None, None, None],
            ["资产编号", "仪器名称", "联系方式", None],
            [None, None, "联系电话", "联系邮箱"],
            ["A1", "电镜", "0411-1234567", "a@b.cn"]]
    header = rules.find_header(rows)
    assert header.row_index == 2
    assert header.columns == {0: "asset_number", 1: "name_zh", 2: "contact_phone",
                              3: "contact_email"}
    assert header.problems == []


def test_a_missing_required_column_is_a_problem_of_the_file():
    header, parsed, problems = rules.parse_table([["仪器名称", "型号"], ["电镜", "X"]], TODAY)
    assert [p.problem.code for p in problems] == ["missing_column"]


def test_no_header_at_all():
    header, parsed, problems = rules.parse_table([["a", "b"], [1, 2]], TODAY)
    assert header is None and problems[0].problem.code == "no_header"


@pytest.mark.parametrize("value,ten_thousands,fen", [
    ("2,350,000.00", False, 235_000_000), ("２３５.５", True, 235_500_000),
    ("200.550", False, 20_055), ("12.3456万", False, 12_345_600),
    (235.5, True, 235_500_000), ("¥1200元", False, 120_000), ("120万", False, 120_000_000),
    (None, False, None), ("", False, None)])
def test_amounts(value, ten_thousands, fen):
    assert rules.parse_amount(value, ten_thousands) == (fen, None)


@pytest.mark.parametrize("value", ["abc", "-5", True, "1e20", "NaN",
                                   "100000000000万", "10000000001",  # over the forms' 10^10 yuan
                                   "200.555", 1234567.891, "0.0000001万"])  # a fen split: no
def test_bad_amounts(value):
    fen, problem = rules.parse_amount(value)
    assert fen is None and problem.code == "amount"


@pytest.mark.parametrize("value,day", [
    (44260, date(2021, 3, 5)), (44260.0, date(2021, 3, 5)), ("44260", date(2021, 3, 5)),
    ("2021/3/5", date(2021, 3, 5)), ("2021-03-05", date(2021, 3, 5)),
    ("2021.3.5", date(2021, 3, 5)), ("2021年3月5日", date(2021, 3, 5)),
    ("２０２１/３/５", date(2021, 3, 5)), ("20210305", date(2021, 3, 5)),
    (datetime(2021, 3, 5, 0, 0), date(2021, 3, 5)), (date(2021, 3, 5), date(2021, 3, 5))])
def test_dates(value, day):
    assert rules.parse_date(value, TODAY) == (day, None)


@pytest.mark.parametrize("value,code", [
    ("2021/2/30", "date"), ("soon", "date"), ("2027-01-01", "date_range"),
    ("1900-01-01", "date_range"), (-3, "date")])
def test_bad_dates(value, code):
    day, problem = rules.parse_date(value, TODAY)
    assert day is None and problem.code == code


@pytest.mark.parametrize("value,modes", [
    ("自主上机", (True, False)), ("送样", (False, True)), ("两者", (True, True)),
    (" both ", (True, True)), ("", (True, True)), (None, (True, True))])
def test_service_modes(value, modes):
    assert rules.parse_service_mode(value) == (modes, None)


def test_a_row_with_the_typical_mess():
    rows = [["资产编号", "仪器名称", "原值（万元）", "购置日期", "分类代码", "服务方式", "联系邮箱",
             "收费标准（元/小时）"],
            ["ＺＣ００１ ", " 扫描电镜  ", "２３５.５", 44260, "质谱仪器", "送样", " Lab@X.cn ", "300"]]
    header, parsed, problems = rules.parse_table(rows, TODAY)
    assert problems == [] and parsed[0].problems == []
    assert parsed[0].values == {
        "asset_number": "ZC001", "name_zh": "扫描电镜", "original_value_fen": 235_500_000,
        "purchase_date": date(2021, 3, 5), "national_class": "0102",
        "allows_self_operated": False, "allows_staff_operated": True,
        "contact_email": "lab@x.cn", "hourly_fen": 30_000}
    fields = rules.instrument_fields(parsed[0].values)
    assert fields["category"] == "analytical" and "hourly_fen" not in fields


def test_problems_name_row_and_column_as_in_the_file():
    rows = [["资产编号", "仪器名称", "购置日期", "分类代码", "联系邮箱"],
            ["A1", "", "someday", "9999", "not-mail"],
            ["A1", "电镜", "", "", ""]]
    _header, parsed, _problems = rules.parse_table(rows, TODAY)
    found = [(p.row, p.column, p.problem.code) for row in parsed for p in row.problems]
    assert found == [(2, "仪器名称", "required"), (2, "联系邮箱", "email"),
                     (2, "分类代码", "national_class"), (2, "购置日期", "date"),
                     (3, "资产编号", "duplicate")]


def test_too_long_and_too_many_rows():
    rows = [["资产编号", "仪器名称"], ["A" * 65, "x"]]
    _h, parsed, _p = rules.parse_table(rows, TODAY)
    assert parsed[0].problems[0].problem.code == "too_long"
    many = [["资产编号", "仪器名称"]] + [[f"A{i}", "x"] for i in range(rules.MAX_ROWS + 1)]
    _h, parsed, problems = rules.parse_table(many, TODAY)
    assert parsed == [] and problems[0].problem.code == "too_many_rows"


def test_the_classification_ships_13_classes_analytical_first():
    top = classification.top_level()
    assert len(top) == 13 and (top[0].code, top[0].zh) == ("01", "分析仪器")
    assert all(c.parent in {t.code for t in top} for c in classification.classes().values()
               if c.parent)
    assert "Source" in classification.DATA.read_text(encoding="utf-8")
    assert classification.resolve("0102") == "0102"
    assert classification.resolve("010203") == "010203"  # third level, under a known class
    assert classification.resolve("990101") is None
    assert classification.resolve("Mass spectrometers") == "0102"
    assert classification.label("0102", "en") == "Analytical instruments › Mass spectrometers"
