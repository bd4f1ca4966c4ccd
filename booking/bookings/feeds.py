"""What the iCalendar feeds show (ical.py renders them): a user's own bookings behind a private
token, and an instrument's busy time for anyone."""
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from booking.accounts.models import User
from booking.bookings import rules
from booking.bookings.models import Booking, FeedToken
from booking.core import audit
from booking.core.clock import now_utc
from booking.extensions import db
from booking.instruments.models import Instrument


# --- private feed tokens -----------------------------------------------------------------------
def feed_token_of(user: User) -> FeedToken | None:
    return db.session.scalar(select(FeedToken).where(FeedToken.user_id == user.id))


def reset_feed_token(user: User) -> FeedToken:
    """Create the user's private feed address, or replace it (the old one stops working)."""
    token = feed_token_of(user)
    if token is None:
        token = FeedToken(user=user, token=FeedToken.generate())
        db.session.add(token)
    else:
        token.token = FeedToken.generate()
    db.session.flush()
    audit.record("feed_token.reset", actor=user, obj=token)
    return token


def user_for_feed_token(raw: str) -> User | None:
    token = db.session.scalar(select(FeedToken).where(FeedToken.token == raw))
    return token.user if token is not None and token.user.active else None


# --- the bookings a feed shows -----------------------------------------------------------------
# A recurring series is carried as its occurrences, one VEVENT each (its own UID, STATUS and
# SEQUENCE), not as one VEVENT with an RRULE and EXDATEs. Each occurrence is decided and
# cancelled on its own, so an RRULE feed would need RECURRENCE-ID overrides for every
# pending, rejected or moved one, and subscribed calendars handle those poorly (Outlook and
# Google Calendar refresh subscriptions lazily and drop or duplicate overridden instances);
# our times are UTC, so an RRULE would also need a VTIMEZONE to keep the local wall clock
# across daylight saving. Plain events, which every client shows right, carry the series
# with each occurrence's own state, a cancelled one as STATUS:CANCELLED.
def feed_bookings(user: User) -> list[Booking]:
    """A user's bookings from 90 days ago on, for the private feed (cancelled ones included)."""
    since = now_utc() - timedelta(days=90)
    return list(db.session.scalars(select(Booking).where(
        Booking.user_id == user.id, Booking.end_at > since).order_by(Booking.start_at)
        .options(selectinload(Booking.instrument))))


def public_feed_bookings(instrument: Instrument) -> list[Booking]:
    since = now_utc() - timedelta(days=30)
    return list(db.session.scalars(select(Booking).where(
        Booking.instrument_id == instrument.id, Booking.end_at > since,
        Booking.state.in_((*rules.OCCUPYING_STATES, "completed"))).order_by(Booking.start_at)))
