"""instruments.calendar_version: the database bumps it with every change a calendar shows,
and only then (migration 0009's triggers, on both databases)."""
from datetime import date, time, timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import delete, insert, update

from booking.bookings.calendar import calendar_version
from booking.bookings.models import Booking
from booking.extensions import db
from booking.instruments.models import Blackout, Instrument, OpeningException, OpeningHours
from tests.moments import MONDAY_23_NOV_8AM, TUESDAY_24_NOV_10AM


@pytest.fixture
def instrument(make):
    with freeze_time(MONDAY_23_NOV_8AM):
        yield make.instrument()


def bumps(instrument, change) -> int:
    """How far `change(instrument)` moves the instrument's calendar_version."""
    before = calendar_version(instrument.id)
    change(instrument)
    db.session.flush()
    return calendar_version(instrument.id) - before


def _book(instrument, make, **fields):
    return make.placed_booking(instrument, make.user(), TUESDAY_24_NOV_10AM, **fields)


def test_bookings_bump_it_when_the_calendar_shows_the_change(instrument, make):
    booking = None

    def place(_):
        nonlocal booking
        booking = _book(instrument, make, state="pending")

    assert bumps(instrument, place) == 1
    assert bumps(instrument, lambda _: setattr(booking, "state", "approved")) == 1
    assert bumps(instrument, lambda _: setattr(booking, "end_at",
                                               TUESDAY_24_NOV_10AM + timedelta(hours=2))) == 1
    assert bumps(instrument, lambda _: setattr(booking, "user_id", make.user().id)) == 1
    # what the calendar does not show leaves it alone
    assert bumps(instrument, lambda _: setattr(booking, "purpose", "另一个目的")) == 0
    assert bumps(instrument, lambda _: db.session.delete(booking)) == 1


def test_moving_a_booking_to_another_instrument_bumps_both(instrument, make):
    booking = _book(instrument, make)
    other = make.instrument()
    before = calendar_version(other.id)
    assert bumps(instrument, lambda _: setattr(booking, "instrument_id", other.id)) == 1
    assert calendar_version(other.id) == before + 1


def test_a_statement_writing_many_bookings_bumps_each_instrument(instrument, make):
    other, user = make.instrument(), make.user()
    rows = [{"instrument_id": i.id, "user_id": user.id, "organisation_id": user.organisation_id,
             "start_at": TUESDAY_24_NOV_10AM + timedelta(hours=h), "end_at": TUESDAY_24_NOV_10AM + timedelta(
                 hours=h, minutes=30), "state": "approved", "mode": "self_operated",
             "purpose": "", "created_at": MONDAY_23_NOV_8AM, "updated_at": MONDAY_23_NOV_8AM}
            for i in (instrument, other) for h in range(3)]
    before = calendar_version(other.id)
    assert bumps(instrument, lambda _: db.session.execute(insert(Booking), rows)) >= 1
    assert calendar_version(other.id) > before
    assert bumps(instrument, lambda _: db.session.execute(
        update(Booking).where(Booking.instrument_id.in_([instrument.id, other.id]))
        .values(state="cancelled"))) >= 1


@pytest.mark.parametrize("change", [
    lambda i: db.session.add(Blackout(instrument_id=i.id, start_at=TUESDAY_24_NOV_10AM,
                                      end_at=TUESDAY_24_NOV_10AM + timedelta(hours=1), reason="校准")),
    lambda i: db.session.add(OpeningException(instrument_id=i.id, day=date(2026, 11, 25))),
    lambda i: db.session.execute(delete(OpeningHours).where(
        OpeningHours.instrument_id == i.id, OpeningHours.weekday == 2)),
    lambda i: db.session.execute(update(OpeningHours).where(
        OpeningHours.instrument_id == i.id).values(closes=time(17))),
    lambda i: setattr(i, "status", "maintenance"),
    lambda i: setattr(i, "is_public", False),
    lambda i: setattr(i, "lead_minutes", 120),
], ids=["blackout", "exception", "hours removed", "hours changed", "status", "visibility",
        "rules"])
def test_opening_and_instrument_changes_bump_it(instrument, change):
    assert bumps(instrument, change) >= 1


def test_removing_a_blackout_bumps_it(instrument):
    blackout = Blackout(instrument_id=instrument.id, start_at=TUESDAY_24_NOV_10AM,
                        end_at=TUESDAY_24_NOV_10AM + timedelta(hours=1), reason="校准")
    db.session.add(blackout)
    db.session.flush()
    assert bumps(instrument, lambda _: db.session.delete(blackout)) == 1


def test_an_instrument_update_counts_once_and_an_unknown_instrument_has_none(instrument):
    assert bumps(instrument, lambda i: db.session.execute(
        update(Instrument).where(Instrument.id == i.id).values(description="新的说明"))) == 1
    assert calendar_version(10**9) is None
