"""A deactivated user's future bookings are cancelled (no charge: the platform's doing) and
they are told why. Connected to accounts' `user_deactivated` signal."""
from flask_babel import gettext as _
from sqlalchemy import select

from booking.bookings.models import Booking
from booking.bookings.notifications import _about, _my_bookings
from booking.bookings.requests import move_booking
from booking.core.clock import now_utc
from booking.core.notifications import notify
from booking.extensions import db

CANCELLED_STATES = ("pending", "approved")  # a booking in use is running: the lab ends it


def on_user_deactivated(user, *, actor=None, reason: str = "") -> int:
    now = now_utc()
    future = list(db.session.scalars(select(Booking).where(
        Booking.user_id == user.id, Booking.state.in_(CANCELLED_STATES),
        Booking.start_at > now).order_by(Booking.start_at)))
    for booking in future:
        move_booking(booking, "cancelled", actor, reason=reason, via="deactivation")
        booking.cancelled_at = now
        booking.late_cancel = False
        booking.decision_reason = reason[:500]
    db.session.flush()
    for booking in future:
        notify(user, "booking.cancelled", link=_my_bookings(), compose=lambda b=booking: (
            _("Booking cancelled: account deactivated"),
            _("Your booking of %(instrument)s on %(when)s was cancelled because your account "
              "was deactivated: %(reason)s. Nothing is charged.", **_about(b, user))))
    return len(future)
