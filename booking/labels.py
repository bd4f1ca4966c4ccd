"""Translated display labels for stored codes (roles, organisation kinds, ...)."""
from flask_babel import lazy_gettext as _l

ROLE_LABELS = {
    "member": _l("member"), "student": _l("student"), "lab_manager": _l("lab manager"),
    "finance": _l("finance"), "bureau_staff": _l("bureau staff"), "admin": _l("administrator"),
}
KIND_LABELS = {
    "university": _l("university"), "institute": _l("research institute"),
    "enterprise": _l("enterprise"), "bureau": _l("government bureau"),
    "pilot_base": _l("pilot-scale base"), "incubator": _l("incubator"),
}

PAYMENT_METHOD_LABELS = {
    "stripe": _l("card / online"), "bank_transfer": _l("bank transfer"),
    "internal": _l("internal account"), "credit_note": _l("credit note deducted"),
    "refund": _l("overpayment refunded"),
}


def role_label(code: str) -> str:
    return str(ROLE_LABELS.get(code, code))


def kind_label(code: str) -> str:
    return str(KIND_LABELS.get(code, code))


def payment_method_label(code: str) -> str:
    return str(PAYMENT_METHOD_LABELS.get(code, code))
