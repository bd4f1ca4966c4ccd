"""iCalendar feeds parsed back: every field of every event."""
from datetime import timedelta

import pytest
from freezegun import freeze_time
from icalendar import Calendar

from booking.bookings import feeds, requests
from booking.extensions import db
from tests.moments import MONDAY_23_NOV_8AM, TUESDAY_24_NOV_10AM


@pytest.fixture
def frozen():
    with freeze_time(MONDAY_23_NOV_8AM) as clock:
        yield clock


@pytest.fixture
def bookings(make, frozen):
    instrument = make.instrument(requires_approval=True, location="化工楼 101")
    manager = make.user(role="lab_manager", organisation=instrument.organisation)
    user = make.user()
    pending = make.booking(instrument, user, TUESDAY_24_NOV_10AM, purpose="粉末衍射")
    approved = make.booking(instrument, user, TUESDAY_24_NOV_10AM + timedelta(hours=2))
    cancelled = make.booking(instrument, user, TUESDAY_24_NOV_10AM + timedelta(hours=4))
    frozen.tick(timedelta(minutes=5))
    requests.approve_booking(approved, manager)
    requests.cancel_booking(cancelled, user)
    feed = feeds.reset_feed_token(user)
    db.session.commit()
    return instrument, user, feed.token, (pending, approved, cancelled)


def events(response):
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    calendar = Calendar.from_ical(response.data)
    assert str(calendar["version"]) == "2.0" and "Instrument Sharing" in str(calendar["prodid"])
    return {str(e["uid"]): e for e in calendar.walk("VEVENT")}


def test_private_feed_fields(client, bookings):
    instrument, user, token, (pending, approved, cancelled) = bookings
    by_uid = events(client.get(f"/ical/user/{token}.ics"))
    changed = MONDAY_23_NOV_8AM + timedelta(minutes=5)
    expected = {pending: ("TENTATIVE", 0, MONDAY_23_NOV_8AM), approved: ("CONFIRMED", 1, changed),
                cancelled: ("CANCELLED", 1, changed)}
    assert set(by_uid) == {f"booking-{b.id}@bookings.instrument-sharing" for b in expected}
    for booking, (status, sequence, stamp) in expected.items():
        event = by_uid[f"booking-{booking.id}@bookings.instrument-sharing"]
        assert str(event["status"]) == status
        assert event["sequence"] == sequence
        assert event.decoded("dtstamp") == stamp
        assert event.decoded("dtstart") == booking.start_at
        assert event.decoded("dtend") == booking.end_at
        assert event.decoded("dtstart").utcoffset() == timedelta(0)
        assert event["dtstart"].to_ical().endswith(b"Z")
        assert str(event["summary"]).startswith(instrument.name_zh)
        assert str(event["location"]) == "化工楼 101"
        assert str(event["description"]) == booking.purpose
    assert "待审批" in str(by_uid[f"booking-{pending.id}@bookings.instrument-sharing"]["summary"])


def test_unknown_token_is_404(client, bookings):
    assert client.get("/ical/user/not-a-token.ics").status_code == 404


def test_public_feed_fields(client, bookings):
    instrument, user, _, (pending, approved, cancelled) = bookings
    by_uid = events(client.get(f"/ical/instrument/{instrument.id}.ics"))
    assert set(by_uid) == {f"booking-{b.id}@bookings.instrument-sharing"
                           for b in (pending, approved)}  # cancelled time is free again
    for event in by_uid.values():
        assert str(event["summary"]) == "已占用"
        assert "description" not in event and "location" not in event
        assert event.decoded("dtstart").utcoffset() == timedelta(0)
        assert str(event["status"]) in ("TENTATIVE", "CONFIRMED")
