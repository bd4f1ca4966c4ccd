"""The directory as CSV (UTF-8 with BOM, so Excel shows Chinese) and XLSX."""
import csv
import io

from openpyxl import Workbook

from booking.instruments.rules import CATEGORIES, CUSTOMER_CLASSES

HEADERS = ("id", "institution", "city", "name_zh", "name_en", "model", "manufacturer",
           "category", "original_value_cny", "purchase_date", "lab", "location", "status",
           "self_operated", "staff_operated", "contact_name", "contact_phone", "contact_email",
           *(f"{c}_hourly_cny" for c in CUSTOMER_CLASSES), "info_updated_at")


def _yuan(fen: int | None) -> float | None:
    return None if fen is None else fen / 100


def _values(row: dict) -> list:
    i = row["instrument"]
    return [i.id, i.organisation.name_zh, i.organisation.city, i.name_zh, i.name_en, i.model,
            i.manufacturer, CATEGORIES.get(i.category, (i.category,))[0],
            _yuan(i.original_value_fen), i.purchase_date.isoformat() if i.purchase_date else "",
            i.lab, i.location, i.status, i.allows_self_operated, i.allows_staff_operated,
            i.contact_name, i.contact_phone, i.contact_email,
            *(_yuan(row[c]) for c in CUSTOMER_CLASSES), i.info_updated_at.isoformat()]


def _safe(value):
    """Cells starting with = + - @ would run as formulas in a spreadsheet."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def to_csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    writer.writerows([_safe(v) for v in _values(row)] for row in rows)
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(rows: list[dict]) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("directory")
    sheet.append(HEADERS)
    for row in rows:
        sheet.append([_safe(v) for v in _values(row)])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
