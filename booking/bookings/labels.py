"""What people read for the bookings' codes (states, service modes, customer classes), marked
for translation and translated where shown."""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

STATE_LABELS = {
    "pending": _l("pending approval"), "approved": _l("approved"), "in_use": _l("in use"),
    "completed": _l("completed"), "rejected": _l("rejected"), "cancelled": _l("cancelled"),
    "expired": _l("expired"), "no_show": _l("no-show"),
}
CLASS_LABELS = {"internal": _l("internal"), "academic": _l("academic (other university)"),
                "enterprise": _l("enterprise")}
MODE_LABELS = {"self_operated": _l("Self-operated"), "staff_operated": _l("Staff-operated (送样)")}


def state_label(state: str) -> str:
    return str(STATE_LABELS.get(state, state))


def mode_label(mode: str) -> str:
    return str(MODE_LABELS.get(mode, mode))


def class_label(customer_class: str) -> str:
    return str(CLASS_LABELS.get(customer_class, customer_class))


def calendar_labels() -> dict:
    """The words of the booking calendar (its events carry codes only)."""
    return {"free": _("Free: tap to book"), "busy": _("Booked"), "blackout": _("Unavailable"),
            "states": {state: str(label) for state, label in STATE_LABELS.items()}}
