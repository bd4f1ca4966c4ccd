"""Reminders before approved bookings start (`flask notify reminders`, run every few minutes
from cron): each booker is reminded 24 hours and/or 1 hour ahead, as they chose in their
notice settings, in their language and timezone, once per booking, horizon and start time.
Which reminder is due is the pure rule `inbox.rules.due_reminder`."""
from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import contains_eager, joinedload

from booking.accounts.models import User
from booking.bookings import notifications
from booking.bookings.models import Booking, BookingReminder
from booking.core.clock import now_utc
from booking.extensions import db
from booking.inbox.rules import FURTHEST_HORIZON, due_reminder
from booking.inbox.services import preferences_of


def send_booking_reminders(now: datetime | None = None) -> int:
    """Queue the reminders due now; returns how many. Idempotent: a reminder sent is recorded
    in the same transaction (and the database refuses a second record)."""
    now = now or now_utc()
    window = (Booking.state == "approved", Booking.start_at > now,
              Booking.start_at <= now + FURTHEST_HORIZON)
    bookings = db.session.scalars(
        select(Booking).join(Booking.user).where(*window, User.active.is_(True))
        .options(contains_eager(Booking.user), joinedload(Booking.instrument))
        .order_by(Booking.start_at, Booking.id)).all()
    sent = _sent_for_current_start(window)
    count = 0
    for booking in bookings:
        horizon = due_reminder(booking.start_at, _known_since(booking), now,
                               preferences_of(booking.user).reminders, sent[booking.id])
        if horizon is None:
            continue
        notifications.notify_booking_reminder(booking)
        db.session.add(BookingReminder(booking_id=booking.id, horizon=horizon,
                                       start_at=booking.start_at, sent_at=now))
        count += 1
    db.session.flush()
    return count


def _sent_for_current_start(window) -> dict[int, set[str]]:
    """The horizons already reminded of, per booking in the window, for its current start
    (a booking moved since is reminded of again)."""
    sent: dict[int, set[str]] = defaultdict(set)
    for booking_id, horizon in db.session.execute(
            select(BookingReminder.booking_id, BookingReminder.horizon).join(
                Booking, (Booking.id == BookingReminder.booking_id)
                & (Booking.start_at == BookingReminder.start_at)).where(*window)):
        sent[booking_id].add(horizon)
    return sent


def _known_since(booking: Booking) -> datetime:
    """Since when the booker knows the booking stands: booked, or confirmed by the lab."""
    return max(booking.created_at, booking.decided_at or booking.created_at)
