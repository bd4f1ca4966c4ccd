"""Demo usage: a session for every completed booking and a running one for bookings in use.

Runs after the bookings' seed. Idempotent: bookings that already have a session are skipped.
Sessions stay inside their booking (a little late, a little early), so they never overlap.
"""
import random
from datetime import timedelta

from sqlalchemy import exists, insert, select

from booking.bookings.models import Booking
from booking.extensions import db
from booking.metering.models import UsageSession


def seed(scale: str) -> None:
    rng = random.Random(55)
    has_session = exists().where(UsageSession.booking_id == Booking.id)
    rows = [_session(booking, rng) for booking in db.session.execute(
        select(Booking.id, Booking.instrument_id, Booking.user_id, Booking.start_at,
               Booking.end_at, Booking.state)
        .where(Booking.state.in_(("completed", "in_use")), ~has_session).order_by(Booking.id))]
    for start in range(0, len(rows), 5000):
        db.session.execute(insert(UsageSession), rows[start:start + 5000])
    db.session.flush()


def _session(booking, rng: random.Random) -> dict:
    started = booking.start_at + timedelta(minutes=rng.randint(0, 15))
    ended = None
    if booking.state == "completed":
        ended = max(booking.end_at - timedelta(minutes=rng.randint(0, 30)),
                    started + timedelta(minutes=10))
    return {"instrument_id": booking.instrument_id, "booking_id": booking.id,
            "user_id": booking.user_id, "started_at": started, "ended_at": ended,
            "source": rng.choice(("kiosk", "kiosk", "api")), "recorded_by_id": booking.user_id,
            "void": False, "overrun": False, "note": ""}
