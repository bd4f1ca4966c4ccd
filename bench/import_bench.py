"""Instrument-list import (issue 16): a generated 2,000-row asset spreadsheet (XLSX, with the
mess of real files: a title row, full-width digits, 原值 in 万元, Excel serial dates and
2021/3/5, trailing spaces) imported into a fresh database, then imported again (every row
unchanged), timing read + check + write each time. Goal: under 30 s.

    python bench/import_bench.py --db sqlite:////tmp/booking-bench/import.sqlite
    python bench/import_bench.py --db postgresql+psycopg://postgres@127.0.0.1:5432/booking_bench_i
"""
import argparse
import io
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import fresh_schema, make_app  # noqa: E402 - after the path set-up

NAMES = ("场发射扫描电子显微镜", "透射电子显微镜", "X射线衍射仪", "核磁共振波谱仪", "液相色谱-质谱联用仪",
         "激光共聚焦显微镜", "电子万能试验机", "同步热分析仪", "傅里叶变换红外光谱仪", "气相色谱仪")
CLASSES = ("0101", "0108", "0103", "0106", "0102", "0108", "0201", "0109", "0104", "0105")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def spreadsheet(rows: int, seed: int = 16) -> bytes:
    from openpyxl import Workbook

    from booking.instruments.import_rules import COLUMNS

    rng = random.Random(seed)
    book = Workbook()
    sheet = book.active
    sheet.append(["渤海理工大学大型仪器设备清单（2026年）"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(COLUMNS))
    sheet.append([c.zh if c.key != "original_value" else "原值（万元）" for c in COLUMNS])
    for n in range(rows):
        kind = n % len(NAMES)
        bought = rng.choice([40000 + rng.randrange(6000),
                             f"{rng.randrange(2010, 2026)}/{rng.randrange(1, 13)}/"
                             f"{rng.randrange(1, 28)}"])
        asset = f"ZC-{2010 + n % 16}-{n:05d}"
        sheet.append([
            asset.translate(FULL_WIDTH) if n % 7 == 0 else asset,
            NAMES[kind] + " ", "", f"M{n % 97}-{kind}", "示例仪器公司", CLASSES[kind],
            round(rng.uniform(50, 900), 2), bought, "分析测试中心", f"主楼{n % 300}室 ",
            "张工", "0411-84700000", "lab@example.edu.cn", ("自主上机", "送样", "两者")[n % 3],
            "形貌观察；成分分析", rng.choice([100, 200, 300, 450])])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", default="sqlite:////tmp/booking-bench/import.sqlite")
    parser.add_argument("--rows", type=int, default=2000)
    options = parser.parse_args()

    fresh_schema(options.db)
    app = make_app(options.db)
    with app.app_context():
        from flask_migrate import upgrade

        from booking.admin.services import create_organisation
        from booking.extensions import db
        from booking.instruments import importing

        upgrade()
        organisation = create_organisation({
            "kind": "university", "name_zh": "渤海理工大学", "credit_code": "12210000MB0000001J",
            "city": "大连"}, None)
        db.session.commit()
        data = spreadsheet(options.rows)
        print(f"{options.rows} rows, {len(data) / 1024:.0f} KiB XLSX")
        for attempt in ("first import", "re-import"):
            started = time.perf_counter()
            rows = importing.read_table(data, "list.xlsx")
            result = importing.import_instruments(organisation, rows, None, source="list.xlsx")
            db.session.commit()
            took = time.perf_counter() - started
            print(f"{attempt}: {took:.2f} s ({result.created} created, {result.updated} "
                  f"updated, {result.unchanged} unchanged, {len(result.problems)} problems)"
                  f" -> {'OK' if took < 30 else 'TOO SLOW'} (goal < 30 s)")


if __name__ == "__main__":
    main()
