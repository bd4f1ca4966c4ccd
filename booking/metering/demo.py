"""Demo usage: a session for every completed booking, a running one for bookings in use and,
at city scale, walk-up sessions of internal users between bookings up to the peer benchmark's
50,000 sessions a year.

Runs after the bookings' seed. Idempotent: bookings that already have a session are skipped,
and walk-ups only fill what is missing. Sessions stay inside their booking (a little late, a
little early) or inside a gap between bookings, so they never overlap.
"""
import random
from collections import defaultdict
from datetime import timedelta

from sqlalchemy import exists, func, select

from booking.accounts.models import Role, User
from booking.bookings import rules
from booking.bookings.calendar import opening_calendar
from booking.bookings.demo import DAYS_BACK
from booking.bookings.models import Booking
from booking.core.clock import now_utc
from booking.core.db import bulk_insert
from booking.extensions import db
from booking.instruments.models import Instrument
from booking.metering.models import UsageSession

SESSION_TARGET = {"city": 50_000}
HELD = ("approved", "in_use", "completed", "no_show")  # bookings whose slot was not free


def seed(scale: str) -> None:
    rng = random.Random(55)
    has_session = exists().where(UsageSession.booking_id == Booking.id)
    rows = [_session(booking, rng) for booking in db.session.execute(
        select(Booking.id, Booking.instrument_id, Booking.user_id, Booking.organisation_id,
               Booking.start_at, Booking.end_at, Booking.state)
        .where(Booking.state.in_(("completed", "in_use")), ~has_session).order_by(Booking.id))]
    bulk_insert(db.session, UsageSession.__table__, rows)
    missing = SESSION_TARGET.get(scale, 0) - db.session.scalar(
        select(func.count()).select_from(UsageSession))
    if missing > 0:
        bulk_insert(db.session, UsageSession.__table__, _walk_ups(missing, rng))
    db.session.flush()


def _session(booking, rng: random.Random) -> dict:
    started = booking.start_at + timedelta(minutes=rng.randint(0, 15))
    ended = None
    if booking.state == "completed":
        ended = max(booking.end_at - timedelta(minutes=rng.randint(0, 30)),
                    started + timedelta(minutes=10))
    return {"instrument_id": booking.instrument_id, "booking_id": booking.id,
            "user_id": booking.user_id, "customer_org_id": booking.organisation_id,
            "started_at": started, "ended_at": ended,
            "source": rng.choice(("kiosk", "kiosk", "api")), "recorded_by_id": booking.user_id,
            "void": False, "overrun": False, "note": ""}


def _walk_ups(count: int, rng: random.Random) -> list[dict]:
    """Up to `count` sessions without a booking, by internal users (the only ones allowed to
    walk up), each in an hour or more of past opening time that no booking held."""
    members = defaultdict(list)
    for user_id, org_id in db.session.execute(
            select(User.id, User.organisation_id).join(Role, Role.user_id == User.id)
            .where(Role.name.in_(("member", "student"))).order_by(User.id)):
        members[org_id].append(user_id)
    held = defaultdict(list)
    for instrument_id, start, end in db.session.execute(
            select(Booking.instrument_id, Booking.start_at, Booking.end_at)
            .where(Booking.state.in_(HELD))):
        held[instrument_id].append((start, end))
    until = now_utc()
    since = until - timedelta(days=DAYS_BACK)
    gaps = []
    for instrument in db.session.scalars(select(Instrument).where(
            Instrument.organisation_id.in_(list(members))).order_by(Instrument.id)):
        calendar = opening_calendar(instrument, since, until)
        free = rules.subtract(rules.opening_intervals(calendar, since, until),
                              [*calendar.blackouts, *held[instrument.id]])
        gaps += [(instrument, start, end) for start, end in free
                 if end - start >= timedelta(hours=1)]
    rows = []
    for instrument, free_from, free_until in rng.sample(gaps, min(count, len(gaps))):
        minutes = (free_until - free_from) // timedelta(minutes=1)
        started = free_from + timedelta(minutes=rng.randint(5, 15))
        ended = started + timedelta(minutes=rng.randint(20, max(20, min(minutes - 25, 240))))
        user_id = rng.choice(members[instrument.organisation_id])
        rows.append({"instrument_id": instrument.id, "booking_id": None, "user_id": user_id,
                     # the walker is a member of the instrument's organisation: its customer
                     "customer_org_id": instrument.organisation_id, "started_at": started,
                     "ended_at": ended, "source": "kiosk",
                     "recorded_by_id": user_id, "void": False, "overrun": False,
                     "note": "walk-up"})
    return rows
