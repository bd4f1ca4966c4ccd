"""The directory as a table (core.tables writes it as CSV or XLSX)."""
from booking.core.tables import yuan
from booking.instruments.rules import CATEGORIES, CUSTOMER_CLASSES

HEADERS = ("id", "institution", "city", "name_zh", "name_en", "model", "manufacturer",
           "category", "original_value_cny", "purchase_date", "lab", "lab_en", "location",
           "location_en", "status", "self_operated", "staff_operated", "contact_name", "contact_phone",
           "contact_email", *(f"{c}_hourly_cny" for c in CUSTOMER_CLASSES), "info_updated_at")


def values(row: dict) -> list:
    i = row["instrument"]
    return [i.id, i.organisation.name_zh, i.organisation.city, i.name_zh, i.name_en, i.model,
            i.manufacturer, CATEGORIES.get(i.category, (i.category,))[0],
            yuan(i.original_value_fen), i.purchase_date.isoformat() if i.purchase_date else "",
            i.lab, i.lab_en, i.location, i.location_en, i.status, i.allows_self_operated,
            i.allows_staff_operated, i.contact_name, i.contact_phone, i.contact_email,
            *(yuan(row[c]) for c in CUSTOMER_CLASSES), i.info_updated_at]
