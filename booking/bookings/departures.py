"""Who leaves takes their future bookings along (no charge: the platform's doing), and the
bookers are told once, with the bookings listed: a deactivated user's own bookings, and every
booking on the instruments of a deactivated organisation (nobody runs them any more).
Connected to accounts' `user_deactivated` and `organisation_deactivated` signals."""
from collections import defaultdict

from flask_babel import gettext as _
from sqlalchemy import select

from booking.bookings.models import Booking
from booking.bookings.notifications import _my_bookings, local_range
from booking.bookings.requests import move_booking
from booking.core.clock import now_utc
from booking.core.notifications import notify
from booking.extensions import db
from booking.instruments.models import Instrument

CANCELLED_STATES = ("pending", "approved")  # a booking in use is running: the lab ends it


def _cancel(query, actor, reason: str) -> list[Booking]:
    now = now_utc()
    future = list(db.session.scalars(query.where(
        Booking.state.in_(CANCELLED_STATES), Booking.start_at > now).order_by(Booking.start_at)))
    for booking in future:
        move_booking(booking, "cancelled", actor, reason=reason, via="deactivation")
        booking.cancelled_at = now
        booking.late_cancel = False
        booking.decision_reason = reason[:500]
    db.session.flush()
    return future


def _tell(bookings: list[Booking], subject, text) -> None:
    """One notice per booker, listing their cancelled bookings."""
    by_booker: dict[int, list[Booking]] = defaultdict(list)
    for booking in bookings:
        by_booker[booking.user_id].append(booking)
    for theirs in by_booker.values():
        user = theirs[0].user
        notify(user, "booking.cancelled", link=_my_bookings(), compose=lambda u=user, b=theirs: (
            subject(), text(len(b), b[0].decision_reason) + "\n" + "\n".join(
                f"· {x.instrument.display_name(u.locale)} "
                f"{local_range(x.start_at, x.end_at, u.timezone)}" for x in b)))


def on_user_deactivated(user, *, actor=None, reason: str = "") -> int:
    future = _cancel(select(Booking).where(Booking.user_id == user.id), actor, reason)
    _tell(future, lambda: _("Bookings cancelled: account deactivated"),
          lambda count, why: _("Your account was deactivated (%(reason)s): %(count)d future "
                               "bookings were cancelled. Nothing is charged.",
                               reason=why, count=count))
    return len(future)


def on_organisation_deactivated(organisation, *, actor=None, reason: str = "") -> int:
    future = _cancel(select(Booking).join(Booking.instrument).where(
        Instrument.organisation_id == organisation.id), actor, reason)
    _tell(future, lambda: _("Bookings cancelled: the instrument's institution left"),
          lambda count, why: _("The institution running these instruments left the platform "
                               "(%(reason)s): %(count)d of your bookings were cancelled. "
                               "Nothing is charged.", reason=why, count=count))
    return len(future)
