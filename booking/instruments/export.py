"""The directory as a table (core.tables writes it as CSV or XLSX), headed in the reader's
language: people open it in a spreadsheet (programs read the API)."""
from flask_babel import lazy_gettext as _l

from booking.core.tables import yuan
from booking.instruments.rules import CATEGORIES, CUSTOMER_CLASSES

RATE_HEADERS = {"internal": _l("Internal rate (CNY/h)"), "academic": _l("Academic rate (CNY/h)"),
                "enterprise": _l("Enterprise rate (CNY/h)")}
HEADERS = (_l("Id"), _l("Institution"), _l("City"), _l("Name (Chinese)"), _l("Name (English)"),
           _l("Model"), _l("Manufacturer"), _l("Category"), _l("Original value (CNY)"),
           _l("Purchase date"), _l("Laboratory"), _l("Laboratory (English)"), _l("Location"),
           _l("Location (English)"), _l("Status"), _l("Self-operated"), _l("Staff-operated"),
           _l("Contact"), _l("Phone"), _l("E-mail"), *(RATE_HEADERS[c] for c in CUSTOMER_CLASSES),
           _l("Information updated"))


def header() -> list[str]:
    return [str(name) for name in HEADERS]


def values(row: dict) -> list:
    i = row["instrument"]
    return [i.id, i.organisation.name_zh, i.organisation.city, i.name_zh, i.name_en, i.model,
            i.manufacturer, CATEGORIES.get(i.category, (i.category,))[0],
            yuan(i.original_value_fen), i.purchase_date.isoformat() if i.purchase_date else "",
            i.lab, i.lab_en, i.location, i.location_en, i.status, i.allows_self_operated,
            i.allows_staff_operated, i.contact_name, i.contact_phone, i.contact_email,
            *(yuan(row[c]) for c in CUSTOMER_CLASSES), i.info_updated_at]
