"""Pure rules of the instrument-list import: which column is which, and what each cell of a
real asset spreadsheet means. No Flask, no database: the caller reads the file into rows of
cell values and writes what these rules return.

Real files are messy, and these rules take what they can: headers in Chinese or English with
or without units, a title row or a merged group header above the real one, headers merged over
two rows, full-width digits and brackets (ＮＦＫＣ), trailing spaces, 原值 in 万元 when the
header says so, dates as Excel serial numbers, date cells, 2021/3/5, 2021.3.5, 2021年3月5日."""
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from booking.core.problems import Problem, _l
from booking.instruments import classification

MAX_ROWS = 5000
HEADER_SCAN_ROWS = 10


@dataclass(frozen=True)
class Column:
    key: str
    zh: str            # the template's header
    en: str            # the English template's header
    aliases: tuple = ()
    max_length: int = 200
    required: bool = False


COLUMNS = (
    Column("asset_number", "资产编号", "Asset number", ("资产号", "资产编码", "asset no",
                                                    "asset id"), 64, True),
    Column("name_zh", "仪器名称", "Instrument name", ("名称", "设备名称", "资产名称", "name"),
           200, True),
    Column("name_en", "英文名称", "English name", ("name (english)",)),
    Column("model", "型号", "Model", ("规格型号", "型号规格"), 120),
    Column("manufacturer", "生产厂家", "Manufacturer", ("厂家", "制造商", "生产厂商", "厂商",
                                                    "maker"), 120),
    Column("national_class", "分类代码", "Classification code", ("分类", "仪器分类", "分类编码",
                                                              "classification"), 40),
    Column("original_value", "原值（元）", "Original value (CNY)", ("原值", "价格", "单价",
                                                              "金额", "original value"), 40),
    Column("purchase_date", "购置日期", "Purchase date", ("购买日期", "购入日期", "启用日期"), 40),
    Column("lab", "所在实验室", "Laboratory", ("实验室", "所属实验室", "使用单位", "lab"), 200),
    Column("lab_en", "实验室英文名称", "Laboratory (English)", ("lab (english)",), 200),
    Column("location", "存放地点", "Location", ("放置地点", "安放地点", "地点"), 200),
    Column("contact_name", "联系人", "Contact", ("负责人", "contact person"), 100),
    Column("contact_phone", "联系电话", "Phone", ("电话", "手机", "telephone"), 32),
    Column("contact_email", "联系邮箱", "E-mail", ("邮箱", "电子邮箱", "email"), 254),
    Column("service_mode", "服务方式", "Service mode", ("共享方式", "sharing mode"), 20),
    Column("capabilities", "主要功能", "Main functions", ("主要功能及特色", "功能", "用途",
                                                       "functions"), 4000),
    Column("hourly_fee", "收费标准（元/小时）", "Fee (CNY per hour)", ("收费标准", "收费",
                                                                 "fee", "hourly fee"), 40),
)
BY_KEY = {c.key: c for c in COLUMNS}
TEMPLATE_EXAMPLE = ("ZC-2021-00017", "场发射扫描电子显微镜", "Field emission SEM", "SU8010",
                    "日立", "0101", "2350000.00", "2021-03-05", "材料分析测试中心",
                    "Materials Analysis Center", "主楼B108", "张工", "0411-84700000",
                    "sem@example.edu.cn", "两者", "形貌观察；能谱分析", "300")

SERVICE_MODES = {"自主上机": (True, False), "自主": (True, False), "上机": (True, False),
                 "送样": (False, True), "送样检测": (False, True), "两者": (True, True),
                 "全部": (True, True), "自主上机/送样": (True, True), "both": (True, True),
                 "self": (True, False), "self-operated": (True, False),
                 "self operated": (True, False), "staff": (False, True),
                 "staff-operated": (False, True), "samples": (False, True)}
EXCEL_EPOCH = date(1899, 12, 30)  # Excel's day 0 (its 1900 leap-year bug included)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^[0-9+\-() ]{5,32}$")


# what a cell copied from elsewhere may carry besides its text (a NUL cannot even be stored)
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x7f]")


def fold(text) -> str:
    """Full-width to half-width (NFKC), trimmed, inner whitespace collapsed, control
    characters dropped."""
    return re.sub(r"\s+", " ", _CONTROL.sub("", unicodedata.normalize("NFKC", str(text)))).strip()


def _header_key(text) -> str:
    return re.sub(r"[\s()（）:：*]", "", fold(text)).casefold()


def _header_names() -> dict[str, str]:
    names = {}
    for column in COLUMNS:
        for name in (column.zh, column.en, *column.aliases):
            names[_header_key(name)] = column.key
    return names


_NAMES = _header_names()


def match_header(text) -> tuple[str | None, bool]:
    """(column key or None, whether the header gives amounts in 万元)."""
    if text is None or not str(text).strip():
        return None, False
    key = _header_key(text)
    ten_thousands = "万元" in key
    if key in _NAMES:
        return _NAMES[key], ten_thousands
    bare = re.sub(r"(万元|元/小时|元/h|元/时|元|cny(perhour)?|/小时|perhour)$", "", key)
    return _NAMES.get(bare), ten_thousands


@dataclass
class Header:
    row_index: int                        # 0-based index of the header row in the table
    columns: dict[int, str]               # cell position -> column key
    labels: dict[str, str]                # column key -> header text as in the file
    value_in_ten_thousands: bool = False
    problems: list = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # headers of columns not read

    def label_of(self, field_key: str) -> str:
        """The file's header of the column an instrument field comes from."""
        return self.labels.get(FIELD_COLUMNS.get(field_key, field_key), field_key)


# instrument fields that a column of another name gives
FIELD_COLUMNS = {"original_value_fen": "original_value", "category": "national_class",
                 "allows_self_operated": "service_mode", "allows_staff_operated": "service_mode",
                 "hourly_fen": "hourly_fee"}


def find_header(rows: list[list]) -> Header | None:
    """The header among the first rows: the one naming most known columns. A cell left empty
    by a header merged over two rows takes the text of the cell above it."""
    best = None
    for index, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        above = rows[index - 1] if index else []
        found, labels, ten_thousands, ignored = {}, {}, False, []
        for position, cell in enumerate(row):
            text = cell
            if (cell is None or not str(cell).strip()) and position < len(above):
                text = above[position]
            key, in_wan = match_header(text)
            if key and key not in labels:
                found[position], labels[key] = key, str(text).strip()
                ten_thousands |= in_wan and key == "original_value"
            elif key is None and text is not None and str(text).strip():
                ignored.append(fold(text))  # (a known column given twice: its first is read)
        if best is None or len(found) > len(best.columns):
            best = Header(index, found, labels, ten_thousands, ignored=ignored)
    if best is None or not best.columns:
        return None
    best.problems = [Problem("missing_column", _l("The column %(column)s is missing."),
                             {"column": f"{c.zh} / {c.en}"})
                     for c in COLUMNS if c.required and c.key not in best.labels]
    return best


@dataclass(frozen=True)
class RowProblem:
    row: int          # the row number as the spreadsheet shows it (1-based)
    column: str       # the header as in the file ("" for the whole row)
    problem: Problem


@dataclass
class ParsedRow:
    row: int
    values: dict
    problems: list


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # an asset number typed as a number: 1001.0 -> "1001"
    return re.sub(r"\s+", " ", _CONTROL.sub("", str(value))).strip()


MAX_AMOUNT_FEN = 10**12  # the instrument and rate forms' bound: 10,000,000,000 yuan


def parse_amount(value, ten_thousands: bool = False) -> tuple[int | None, Problem | None]:
    """Yuan (or 万元) -> fen."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    if isinstance(value, bool):
        return None, Problem("amount", _l("Not an amount: %(value)s"), {"value": str(value)})
    text = fold(value).replace(",", "").replace("¥", "").replace("￥", "")
    text = text.removesuffix("元").strip()
    if text.endswith("万"):
        text, ten_thousands = text[:-1].strip(), True
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None, Problem("amount", _l("Not an amount: %(value)s"), {"value": str(value)})
    if not amount.is_finite() or amount < 0:
        return None, Problem("amount", _l("Not an amount: %(value)s"), {"value": str(value)})
    if amount > Decimal("1e11"):
        return None, Problem("amount", _l("At most 10,000,000,000 yuan."))
    fen = amount * (10000 if ten_thousands else 1) * 100
    if fen > MAX_AMOUNT_FEN:  # 万 multiplies: bound what is stored, as the forms do
        return None, Problem("amount", _l("At most 10,000,000,000 yuan."))
    if fen != fen.to_integral_value():  # as the forms: not silently rounded to the fen
        return None, Problem("amount", _l("At most 2 decimal places (fen): %(value)s"),
                             {"value": str(value)})
    return int(fen), None


def parse_date(value, today: date) -> tuple[date | None, Problem | None]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    bad = Problem("date", _l("Not a date: %(value)s (write 2021-03-05)"), {"value": str(value)})
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if not 1 <= value < 2958466:
            return None, bad
        day = EXCEL_EPOCH + timedelta(days=int(value))
    else:
        text = fold(value)
        if re.fullmatch(r"\d{4,5}(\.0)?", text) and not re.fullmatch(r"(19|20)\d{2}", text):
            return parse_date(float(text), today)  # a serial number that became text
        match = (re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", text) or
                 re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text))
        if not match:
            return None, bad
        try:
            day = date(*(int(g) for g in match.groups()))
        except ValueError:
            return None, bad
    if day > today or day.year < 1950:
        return None, Problem("date_range", _l("The purchase date %(value)s is not plausible."),
                             {"value": day.isoformat()})
    return day, None


def parse_service_mode(value) -> tuple[tuple[bool, bool] | None, Problem | None]:
    text = fold(value or "").casefold()
    if not text:
        return (True, True), None
    if text in SERVICE_MODES:
        return SERVICE_MODES[text], None
    return None, Problem("service_mode", _l(
        "Service mode must be 自主上机, 送样 or 两者 (self-operated, samples or both): "
        "%(value)s"), {"value": str(value)})


def parse_row(cells: list, header: Header, row_number: int, today: date) -> ParsedRow:
    """One data row: the instrument fields it gives and every problem, by column."""
    raw = {key: cells[pos] if pos < len(cells) else None
           for pos, key in header.columns.items()}
    values, problems = {}, []

    def problem(key, found):
        problems.append(RowProblem(row_number, header.labels.get(key, ""), found))

    if "asset_number" in raw and fold(_text(raw["asset_number"])) == TEMPLATE_EXAMPLE[0]:
        problem("asset_number", Problem("template_example", _l(
            "This is the template's example row: delete it.")))
    for key in ("asset_number", "name_zh", "name_en", "model", "manufacturer", "lab", "lab_en",
                "location", "contact_name", "capabilities"):
        if key not in raw:
            continue
        text = _text(raw[key])
        if key == "asset_number":
            text = fold(text)
        if len(text) > BY_KEY[key].max_length:
            problem(key, Problem("too_long", _l("At most %(max)d characters."),
                                 {"max": BY_KEY[key].max_length}))
        elif BY_KEY[key].required and not text:
            problem(key, Problem("required", _l("This column must not be empty.")))
        values[key] = text
    if "contact_phone" in raw:
        phone = fold(_text(raw["contact_phone"]))
        if phone and not _PHONE.match(phone):
            problem("contact_phone", Problem("phone", _l("Not a phone number: %(value)s"),
                                             {"value": phone}))
        values["contact_phone"] = phone
    if "contact_email" in raw:
        email = fold(_text(raw["contact_email"])).lower()
        if email and (len(email) > 254 or not _EMAIL.match(email)):
            problem("contact_email", Problem("email", _l("Not an e-mail address: %(value)s"),
                                             {"value": email}))
        values["contact_email"] = email
    if "national_class" in raw:
        given = fold(_text(raw["national_class"]))
        code = classification.resolve(given)
        if given and code is None:
            problem("national_class", Problem("national_class", _l(
                "Unknown national classification code: %(value)s"), {"value": given}))
        values["national_class"] = code
    if "original_value" in raw:
        fen, found = parse_amount(raw["original_value"], header.value_in_ten_thousands)
        if found:
            problem("original_value", found)
        values["original_value_fen"] = fen or 0
    if "purchase_date" in raw:
        day, found = parse_date(raw["purchase_date"], today)
        if found:
            problem("purchase_date", found)
        values["purchase_date"] = day
    if "service_mode" in raw:
        modes, found = parse_service_mode(raw["service_mode"])
        if found:
            problem("service_mode", found)
        else:
            values["allows_self_operated"], values["allows_staff_operated"] = modes
    if "hourly_fee" in raw:
        fen, found = parse_amount(raw["hourly_fee"])
        if found:
            problem("hourly_fee", found)
        values["hourly_fen"] = fen
    return ParsedRow(row_number, values, problems)


def is_blank(cells) -> bool:
    return all(c is None or not str(c).strip() for c in cells)


def parse_table(rows: list[list], today: date) -> tuple[Header | None, list[ParsedRow],
                                                        list[RowProblem]]:
    """The header, the parsed data rows and the problems of the whole table (missing columns,
    too many rows, an asset number given twice)."""
    header = find_header(rows)
    if header is None:
        return None, [], [RowProblem(0, "", Problem("no_header", _l(
            "No header row found: the first rows must name the columns (资产编号, 仪器名称, "
            "...); download the template.")))]
    table_problems = [RowProblem(header.row_index + 1, "", p) for p in header.problems]
    body = [(i + 1, r) for i, r in enumerate(rows[header.row_index + 1:],
                                               start=header.row_index + 1) if not is_blank(r)]
    if len(body) > MAX_ROWS:
        table_problems.append(RowProblem(0, "", Problem("too_many_rows", _l(
            "At most %(max)d rows per file."), {"max": MAX_ROWS})))
        return header, [], table_problems
    parsed = [parse_row(cells, header, number, today) for number, cells in body]
    seen = {}
    for row in parsed:
        asset = row.values.get("asset_number")
        if asset and asset in seen:
            row.problems.append(RowProblem(row.row, header.labels["asset_number"], Problem(
                "duplicate", _l("Asset number %(value)s is also on row %(other)d."),
                {"value": asset, "other": seen[asset]})))
        elif asset:
            seen[asset] = row.row
    return header, parsed, table_problems


def instrument_fields(values: dict) -> dict:
    """What a parsed row sets on an instrument (the fee becomes rates, elsewhere)."""
    fields = {k: v for k, v in values.items() if k != "hourly_fen"}
    if "national_class" in fields:
        fields["category"] = classification.category_of(fields["national_class"])
    return fields
