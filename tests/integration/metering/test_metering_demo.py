"""The usage demo: sessions of completed bookings, then walk-ups up to the scale's target."""
from itertools import pairwise

from sqlalchemy import func, select

from booking.bookings import demo as booking_demo
from booking.extensions import db
from booking.metering import demo
from booking.metering.models import UsageSession


def test_walk_ups_fill_free_time_with_internal_users_only(make, monkeypatch):
    dlut = make.organisation()
    insiders = {make.user(role="student", organisation=dlut).id for _ in range(3)}
    make.user(organisation=make.enterprise())
    instrument = make.instrument(organisation=dlut)
    booking_demo.seed("small")
    demo.seed("small")
    from_bookings = db.session.scalar(select(func.count()).select_from(UsageSession))
    monkeypatch.setitem(demo.SESSION_TARGET, "small", from_bookings + 40)

    demo.seed("small")
    demo.seed("small")  # idempotent: the target is reached
    sessions = db.session.scalars(select(UsageSession).where(
        UsageSession.instrument_id == instrument.id).order_by(UsageSession.started_at)).all()
    walk_ups = [s for s in sessions if s.booking_id is None]
    assert len(sessions) == from_bookings + 40 and len(walk_ups) == 40
    assert {s.user_id for s in walk_ups} <= insiders
    for earlier, later in pairwise(sessions):
        assert earlier.ended_at is None or earlier.ended_at <= later.started_at
