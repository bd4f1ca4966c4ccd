"""What people read for the bookings' codes (states, service modes, customer classes), marked
for translation and translated where shown."""
from babel.dates import get_day_names
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from booking.bookings.recurrence import WEEKDAYS

STATE_LABELS = {
    "pending": _l("pending approval"), "approved": _l("approved"), "in_use": _l("in use"),
    "completed": _l("completed"), "rejected": _l("rejected"), "cancelled": _l("cancelled"),
    "expired": _l("expired"), "no_show": _l("no-show"),
}
CLASS_LABELS = {"internal": _l("internal"), "academic": _l("academic (other university)"),
                "enterprise": _l("enterprise")}
MODE_LABELS = {"self_operated": _l("Self-operated"), "staff_operated": _l("Staff-operated")}


def state_label(state: str) -> str:
    return str(STATE_LABELS.get(state, state))


def mode_label(mode: str) -> str:
    return str(MODE_LABELS.get(mode, mode))


def class_label(customer_class: str) -> str:
    return str(CLASS_LABELS.get(customer_class, customer_class))


def calendar_labels() -> dict:
    """The words of the booking calendar (its events carry codes only)."""
    states = {**{state: str(label) for state, label in STATE_LABELS.items()},
              "awaiting_pi": _("waiting for the PI")}
    return {"free": _("Free: tap to book"), "busy": _("Booked"), "blackout": _("Unavailable"),
            "free_hours": _("%(hours)s h free", hours="%(hours)s"),
            # an event's title starts a line, as "Booked" does ("approved" is the word inside
            # a sentence)
            "states": {state: label[:1].upper() + label[1:] for state, label in states.items()}}


def weekday_choices() -> list[tuple[str, str]]:
    """(RFC 5545 BYDAY code, the day's short name in the current language), Monday first."""
    names = get_day_names("abbreviated", locale=get_locale() or "en")
    return [(code, names[number]) for number, code in enumerate(WEEKDAYS)]


def repeat_label(repeat) -> str:
    """A series' rule in words (a recurrence.Repeat): "weekly on Tue, Thu, 10 times"."""
    names = get_day_names("abbreviated", locale=get_locale() or "en")
    days = _(", ").join(names[recurrence_day] for recurrence_day in repeat.weekday_numbers)
    n = repeat.interval
    if repeat.freq == "daily":
        how = _("daily") if n == 1 else _("every %(n)d days", n=n)
    elif repeat.freq == "monthly":
        how = _("monthly") if n == 1 else _("every %(n)d months", n=n)
    elif days:
        how = _("weekly on %(days)s", days=days) if n == 1 else \
            _("every %(n)d weeks on %(days)s", n=n, days=days)
    else:
        how = _("weekly") if n == 1 else _("every %(n)d weeks", n=n)
    end = ngettext("%(num)d time", "%(num)d times", repeat.count) if repeat.count else \
        _("until %(day)s", day=repeat.until.isoformat())
    return _("%(how)s, %(end)s", how=how, end=end)
