from collections import Counter

from sqlalchemy import func, select

from booking.bookings import demo, rules
from booking.bookings.models import Booking
from booking.core.clock import now_utc
from booking.extensions import db


def test_demo_bookings_fill_a_year_in_mixed_states_and_seed_once(make):
    dlut = make.organisation()
    make.user(role="lab_manager", organisation=dlut)
    make.user(role="student", organisation=dlut)
    make.user(organisation=make.organisation(kind="enterprise"))
    approving = make.instrument(organisation=dlut, requires_approval=True)
    private = make.instrument(organisation=dlut, is_public=False)
    make.instrument(organisation=dlut, status="retired")

    demo.seed("small")
    count = db.session.scalar(select(func.count(Booking.id)))
    demo.seed("small")
    assert db.session.scalar(select(func.count(Booking.id))) == count > 200

    states = Counter(db.session.scalars(select(Booking.state)))
    assert {"completed", "cancelled", "approved", "pending", "rejected"} <= set(states)
    assert states["completed"] > states["cancelled"]
    assert {i for i, in db.session.execute(select(Booking.instrument_id).distinct())} == {
        approving.id, private.id}
    for booking in db.session.scalars(select(Booking).where(
            Booking.instrument_id == approving.id).limit(50)):
        assert rules.on_grid(booking.start_at, 30, "Asia/Shanghai") and booking.purpose


def test_demo_without_instruments_does_nothing(app):
    demo.seed("small")
    assert db.session.scalar(select(func.count(Booking.id))) == 0


def test_demo_pending_requests_are_not_already_expired(make):
    from booking.bookings.requests import expire_pending

    organisation = make.organisation()
    make.user(organisation=organisation)
    make.instrument(organisation=organisation, requires_approval=True)
    demo.seed("small")
    assert db.session.scalar(select(func.count(Booking.id)).where(Booking.state == "pending"))
    assert expire_pending() == 0


def test_demo_bookings_were_made_and_decided_in_the_past(make):
    """Reported: thousands of seeded bookings had a created_at or decided_at still to come."""
    organisation = make.organisation()
    make.user(organisation=organisation)
    make.instrument(organisation=organisation, requires_approval=True)
    demo.seed("small")
    now = now_utc()
    assert db.session.scalar(select(func.count(Booking.id)).where(Booking.start_at > now)) > 20
    for column in (Booking.created_at, Booking.decided_at, Booking.cancelled_at,
                   Booking.updated_at):
        assert db.session.scalar(select(func.count(Booking.id)).where(column > now)) == 0, column
    assert db.session.scalar(select(func.count(Booking.id)).where(
        Booking.decided_at < Booking.created_at)) == 0
