"""Wait lists: joining only a taken time one could book, the offer to the first in line when
it frees (held for them), lapsing to the next, leaving, and taking the offer."""
from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from booking.bookings import waitlist
from booking.bookings.calendar import booking_problems, instrument_for_booking
from booking.bookings.models import Booking
from booking.bookings.requests import BookingRefused, cancel_booking, create_booking
from booking.core.notifications import OutboxMessage
from booking.extensions import db
from tests.moments import MONDAY_23_NOV_8AM, TUESDAY_24_NOV_10AM

HOUR = timedelta(hours=1)
SLOT = {"start": TUESDAY_24_NOV_10AM, "end": TUESDAY_24_NOV_10AM + HOUR,
        "mode": "self_operated", "purpose": "XRD"}


@pytest.fixture(autouse=True)
def frozen():
    with freeze_time(MONDAY_23_NOV_8AM) as clock:
        yield clock


@pytest.fixture
def taken(make):
    """An instrument whose Tuesday 10:00-11:00 is held by `holder`; two people who want it."""
    instrument = make.instrument(requires_approval=False)
    holder = make.user()
    booking = make.placed_booking(instrument, holder, TUESDAY_24_NOV_10AM)
    return {"instrument": instrument, "holder": holder, "booking": booking,
            "first": make.user(locale="en"), "second": make.user(locale="en")}


def _offers_to(user) -> int:
    return len(db.session.scalars(select(OutboxMessage.id).where(
        OutboxMessage.recipient == user.email, OutboxMessage.kind == "waitlist.offer")).all())


def test_the_first_in_line_is_offered_the_freed_time_and_it_is_held(taken):
    instrument = taken["instrument"]
    first = waitlist.join(instrument, taken["first"], **SLOT)
    second = waitlist.join(instrument, taken["second"], **SLOT)
    cancel_booking(taken["booking"], taken["holder"])
    db.session.flush()
    assert (first.state, second.state) == ("offered", "waiting")
    # held for the configured two hours from now (Mon 08:00 -> 10:00 Shanghai)
    assert first.offer_expires_at == MONDAY_23_NOV_8AM + 2 * HOUR
    assert _offers_to(taken["first"]) == 1 and _offers_to(taken["second"]) == 0
    # nobody else can book the held time meanwhile; the one it is held for can
    held = booking_problems(instrument, taken["second"], start=SLOT["start"], end=SLOT["end"],
                            mode="self_operated")
    assert [p.code for p in held] == ["held_for_waitlist"]
    # the booking API reads the holds with the instrument, in its one statement
    facts = instrument_for_booking(instrument.id, SLOT["start"], SLOT["end"], taken["second"].id)
    assert facts.holds == ((taken["first"].id, MONDAY_23_NOV_8AM + 2 * HOUR),)
    with pytest.raises(BookingRefused) as refused:
        create_booking(instrument, taken["second"], start=SLOT["start"], end=SLOT["end"],
                       mode="self_operated", purpose="XRD", calendar=facts.opening,
                       holds=facts.holds)
    assert refused.value.problems[0].code == "held_for_waitlist"
    booking = waitlist.accept(first, taken["first"])
    assert (booking.user_id, booking.state, first.state) == (taken["first"].id, "approved",
                                                             "booked")


def test_an_offer_not_taken_in_time_goes_to_the_next(taken, frozen):
    instrument = taken["instrument"]
    first = waitlist.join(instrument, taken["first"], **SLOT)
    second = waitlist.join(instrument, taken["second"], **SLOT)
    cancel_booking(taken["booking"], taken["holder"])
    frozen.tick(2 * HOUR)
    assert waitlist.lapse() == 1
    assert (first.state, second.state) == ("expired", "offered")
    with pytest.raises(waitlist.WaitlistRefused) as refused:
        waitlist.accept(first, taken["first"])
    assert refused.value.problems[0].code == "offer_gone"


def test_leaving_an_offer_passes_it_on(taken):
    instrument = taken["instrument"]
    first = waitlist.join(instrument, taken["first"], **SLOT)
    second = waitlist.join(instrument, taken["second"], **SLOT)
    cancel_booking(taken["booking"], taken["holder"])
    waitlist.leave(first, taken["first"])
    assert (first.state, second.state) == ("left", "offered")


def test_a_longer_wait_is_offered_only_when_all_of_it_is_free(taken, make):
    instrument = taken["instrument"]
    make.placed_booking(instrument, make.user(), TUESDAY_24_NOV_10AM + HOUR)  # 11:00-12:00
    entry = waitlist.join(instrument, taken["first"], **{**SLOT, "end": SLOT["start"] + 2 * HOUR})
    cancel_booking(taken["booking"], taken["holder"])  # frees 10:00-11:00 only
    assert entry.state == "waiting"


@pytest.mark.parametrize("change,code", [
    ({"start": TUESDAY_24_NOV_10AM + 3 * HOUR, "end": TUESDAY_24_NOV_10AM + 4 * HOUR},
     "slot_free"),
    ({"start": TUESDAY_24_NOV_10AM + 4 * timedelta(days=1),
      "end": TUESDAY_24_NOV_10AM + 4 * timedelta(days=1) + HOUR}, "outside_opening_hours"),
])
def test_joining_needs_a_taken_time_one_could_book(taken, change, code):
    with pytest.raises(waitlist.WaitlistRefused) as refused:
        waitlist.join(taken["instrument"], taken["first"], **{**SLOT, **change})
    assert refused.value.problems[0].code == code


def test_not_for_ones_own_booking_and_not_twice(taken):
    with pytest.raises(waitlist.WaitlistRefused) as own:
        waitlist.join(taken["instrument"], taken["holder"], **SLOT)
    waitlist.join(taken["instrument"], taken["first"], **SLOT)
    with pytest.raises(waitlist.WaitlistRefused) as twice:
        waitlist.join(taken["instrument"], taken["first"], **SLOT)
    assert (own.value.problems[0].code, twice.value.problems[0].code) == (
        "own_booking", "already_waiting")
    assert db.session.scalar(select(Booking.state)) == "approved"
