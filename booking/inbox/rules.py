"""What a user wants to be told, and when a reminder is due: pure functions on plain values.

Notices come in kinds (`booking.approved`, `invoice.paid`, ...), named by the area that sends
them. People choose e-mail per group of kinds, not per kind: a group is what a person thinks
of ("invoices and payments"), and a new kind joins its group without a new switch. The inbox
knows kinds only as strings; it never imports the areas that send them.
Labels are English msgids (`_l`), translated where they are shown.
"""
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from booking.core.problems import Msgid, _l


@dataclass(frozen=True)
class Group:
    key: str
    label: Msgid
    help: Msgid
    #: who sees the switch: holders of any of these roles (empty: everybody)
    roles: tuple[str, ...] = ()


GROUPS = (
    Group("decisions", _l("Booking decisions"),
          _l("Your booking requests confirmed, declined or expired.")),
    Group("lab_changes", _l("Changes by the lab"),
          _l("Bookings the lab cancelled or moved, for instance for a blackout, recorded as "
             "no-shows, or priced anew by a new rate.")),
    Group("reminders", _l("Booking reminders"),
          _l("Before your approved bookings start (choose when below).")),
    Group("waitlist", _l("Wait list"), _l("A slot you wait for is offered to you.")),
    Group("billing", _l("Invoices and payments"),
          _l("Invoices issued to you and payments recorded for them; for a PI, the "
             "monthly digest of the projects; for a finance office, voucher statements.")),
    Group("training", _l("Training and qualifications"),
          _l("Training requests decided, qualifications granted or withdrawn.")),
    Group("orders", _l("Test orders"),
          _l("Your test orders accepted, received, tested, reported and closed.")),
    Group("vouchers", _l("Innovation vouchers"),
          _l("Voucher applications decided or lapsed.")),
    Group("account", _l("Account and organisation"),
          _l("Your organisation verified, your membership confirmed.")),
    Group("work", _l("Work waiting for you"),
          _l("Booking and training requests to decide, members to confirm, enterprises, "
             "instruments and voucher applications to review."),
          roles=("lab_manager", "bureau_staff")),
)
GROUP_KEYS = frozenset(group.key for group in GROUPS)

KIND_GROUPS = {
    "booking.approved": "decisions", "booking.rejected": "decisions",
    "booking.expired": "decisions",
    "booking.cancelled": "lab_changes", "booking.moved": "lab_changes",
    "booking.no_show": "lab_changes", "booking.estimate_changed": "lab_changes",
    "booking.reminder": "reminders",
    "booking.pending": "work", "training.requested": "work", "member.pending": "work",
    "instrument.stale_reminder": "work", "voucher.overdue": "work", "voucher.applied": "work",
    "organisation.verified": "account", "member.confirmed": "account",
    "organisation.registered": "work",
    "order.submitted": "work", "order.cancelled": "work",
    "voucher.clawed_back": "billing",  # told to the provider's finance office
    "project.month_digest": "billing",  # a PI's projects' month
}
#: kinds not listed above, by the part before the dot
PREFIX_GROUPS = {"waitlist": "waitlist", "blackout": "lab_changes", "invoice": "billing",
                 "payment": "billing", "training": "training", "qualification": "training",
                 "voucher": "vouchers", "order": "orders", "group": "account",
                 "reimbursement": "billing"}  # told to the provider's finance office
#: kinds that carry a one-time secret (a password-reset link): e-mailed only, never kept in
#: the inbox (a copy in the database would outlive its purpose) and never switched off
SECRET_KINDS = frozenset({"password.reset", "account.invited", "group.pi_approval",
                          "account.confirm_email", "account.email_change"})
#: kinds with no switch, always e-mailed: their user cannot sign in to read the inbox yet, or
#: they warn of a change to the account itself (its address) that the owner must hear of
ALWAYS_EMAILED = frozenset({"account.registered", "account.email_change_requested",
                            "account.email_changed"}) | SECRET_KINDS


def group_of(kind: str) -> str | None:
    """The group a kind of notice belongs to; None: not switchable, always e-mailed."""
    if kind in ALWAYS_EMAILED:
        return None
    return KIND_GROUPS.get(kind) or PREFIX_GROUPS.get(kind.split(".", 1)[0])


def visible_groups(roles: Collection[str]) -> list[Group]:
    """The switches a user with these role names sees (admins see them all)."""
    return [group for group in GROUPS
            if not group.roles or "admin" in roles or set(group.roles) & set(roles)]


# --- reminders before a booking starts ----------------------------------------------------------
#: how long before the start each reminder goes out, nearest first
HORIZONS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24)}
HORIZON_LABELS = {"24h": _l("24 hours before"), "1h": _l("1 hour before")}
FURTHEST_HORIZON = max(HORIZONS.values())
DEFAULT_REMINDERS = frozenset({"24h"})


def due_reminder(start: datetime, known_since: datetime, now: datetime,
                 wanted: Collection[str], sent: Collection[str]) -> str | None:
    """The reminder to send now about something starting at `start`, or None.

    A horizon is reached once `now` is within it of the start. The nearest reached horizon
    the user wants is the only candidate: a run that comes late (the job was down) sends one
    reminder, not a 24-hour one an hour before. It is not sent twice (`sent`), nor to someone
    who learnt of the booking (`known_since`: booked or confirmed) after the horizon passed."""
    if now >= start:
        return None
    for name, ahead in HORIZONS.items():
        if name in wanted and now >= start - ahead:
            return None if name in sent or known_since > start - ahead else name
    return None


# --- a user's preferences, as stored -------------------------------------------------------------
@dataclass(frozen=True)
class Preferences:
    """`email_off`: groups not e-mailed (kept in the inbox all the same); `reminders`: the
    horizons wanted. Stored as a small dict; None (never saved) means the defaults."""

    email_off: frozenset[str] = frozenset()
    reminders: frozenset[str] = DEFAULT_REMINDERS

    @classmethod
    def from_stored(cls, stored: dict | None) -> "Preferences":
        """Tolerant of what a former version stored: unknown names are dropped."""
        if not stored:
            return cls()
        return cls(frozenset(stored.get("email_off", ())) & GROUP_KEYS,
                   frozenset(stored.get("reminders", ())) & HORIZONS.keys())

    def stored(self) -> dict:
        return {"email_off": sorted(self.email_off), "reminders": sorted(self.reminders)}

    def emails(self, kind: str) -> bool:
        return group_of(kind) not in self.email_off

    def choose(self, shown: Collection[str], emailed: Collection[str],
               reminders: Collection[str]) -> "Preferences":
        """New preferences from a form that showed the groups `shown` and had `emailed`
        ticked; switches the user did not see keep their value."""
        shown, emailed = set(shown), set(emailed)
        return Preferences(frozenset((self.email_off - shown) | (shown - emailed)) & GROUP_KEYS,
                           frozenset(reminders) & HORIZONS.keys())
