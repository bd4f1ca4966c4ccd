"""Moving a booking: the same rules as a request, the slot held by the database, approval again
when the booker moves an approved booking, one transaction, audited."""
from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from booking.bookings.requests import BookingClash, BookingRefused
from booking.bookings.reschedule import reschedule
from booking.core.notifications import OutboxMessage
from booking.extensions import db
from tests.moments import MONDAY_23_NOV_8AM, TUESDAY_24_NOV_10AM
from tests.web.matrix import audit_actions

HOUR = timedelta(hours=1)


@pytest.fixture(autouse=True)
def frozen():
    with freeze_time(MONDAY_23_NOV_8AM):
        yield


@pytest.fixture
def lab(make):
    owner = make.organisation()
    manager = make.user(role="lab_manager", organisation=owner, locale="en")
    instrument = make.instrument(organisation=owner, requires_approval=True)
    booker = make.user(locale="en")
    booking = make.placed_booking(instrument, booker, TUESDAY_24_NOV_10AM, decided_by=manager,
                                  decided_at=MONDAY_23_NOV_8AM - HOUR)
    return {"instrument": instrument, "manager": manager, "booker": booker, "booking": booking}


def _subjects(user) -> list[str]:
    return db.session.scalars(select(OutboxMessage.subject).where(
        OutboxMessage.recipient == user.email)).all()


def test_the_booker_moving_an_approved_booking_asks_the_lab_again(lab):
    booking, booker = lab["booking"], lab["booker"]
    sequence = booking.sequence
    reschedule(booking, booker, start=TUESDAY_24_NOV_10AM + 4 * HOUR,
               end=TUESDAY_24_NOV_10AM + 5 * HOUR)
    db.session.commit()
    assert (booking.start_at, booking.end_at) == (TUESDAY_24_NOV_10AM + 4 * HOUR,
                                                  TUESDAY_24_NOV_10AM + 5 * HOUR)
    assert booking.state == "pending" and booking.decided_at is None
    assert booking.created_at == MONDAY_23_NOV_8AM  # waits afresh for the lab
    assert booking.sequence > sequence
    assert audit_actions(booking)[-2:] == ["booking.pending", "booking.rescheduled"]
    assert _subjects(lab["manager"]) == ["New booking request"]


def test_a_move_by_the_lab_stands_and_the_booker_is_told(lab):
    booking = lab["booking"]
    reschedule(booking, lab["manager"], start=TUESDAY_24_NOV_10AM + 30 * timedelta(minutes=1),
               end=TUESDAY_24_NOV_10AM + 90 * timedelta(minutes=1))  # overlaps its own time
    db.session.commit()
    assert booking.state == "approved"
    assert _subjects(lab["booker"]) == ["Booking moved"]


def test_a_taken_time_is_refused_and_nothing_changes(lab, make):
    booking = lab["booking"]
    make.placed_booking(lab["instrument"], make.user(), TUESDAY_24_NOV_10AM + 2 * HOUR,
                        created_at=MONDAY_23_NOV_8AM - timedelta(days=2))
    booking_id = booking.id
    with pytest.raises(BookingClash) as refused:
        reschedule(booking, lab["booker"], start=TUESDAY_24_NOV_10AM + 2 * HOUR,
                   end=TUESDAY_24_NOV_10AM + 3 * HOUR)
    assert "from 2026-11-24 12:00 to 2026-11-24 13:00" in refused.value.problems[0].message
    moved = db.session.get(type(booking), booking_id)
    assert (moved.start_at, moved.state) == (TUESDAY_24_NOV_10AM, "approved")


@pytest.mark.parametrize("start,code", [
    (TUESDAY_24_NOV_10AM + 4 * timedelta(days=1), "outside_opening_hours"),  # a Saturday
    (TUESDAY_24_NOV_10AM, "same_time"),
])
def test_rules_are_those_of_a_new_request(lab, start, code):
    with pytest.raises(BookingRefused) as refused:
        reschedule(lab["booking"], lab["booker"], start=start, end=start + HOUR)
    assert refused.value.problems[0].code == code
    assert lab["booking"].start_at == TUESDAY_24_NOV_10AM


def test_only_pending_or_approved_bookings_move(lab, make):
    done = make.placed_booking(lab["instrument"], lab["booker"],
                               TUESDAY_24_NOV_10AM - timedelta(days=7), state="completed")
    with pytest.raises(BookingRefused) as refused:
        reschedule(done, lab["booker"], start=TUESDAY_24_NOV_10AM + 4 * HOUR,
                   end=TUESDAY_24_NOV_10AM + 5 * HOUR)
    assert refused.value.problems[0].code == "not_movable"
