"""The calendar's query and body (schemas.calendar_range, calendar_body): read and written
without a schema, the site's most read answer."""
import json
from datetime import UTC, datetime

import marshmallow as ma
import pytest
from freezegun import freeze_time

from booking.bookings.schemas import calendar_range


@freeze_time("2026-11-23 08:00:00")
def test_naive_and_offset_ranges_are_read_as_given():
    assert calendar_range({"start": "2026-11-23T00:00:00", "end": "2026-11-30T00:00:00",
                           "timeZone": "local"}) == (datetime(2026, 11, 23),
                                                     datetime(2026, 11, 30))
    assert calendar_range({"start": "2026-11-23T00:00:00Z", "end": "2026-11-24T00:00Z"}) == (
        datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 24, tzinfo=UTC))


@freeze_time("2026-11-23 08:00:00")
@pytest.mark.parametrize(("query", "field"), [
    ({"end": "2026-11-30T00:00:00"}, "start"),
    ({"start": "2026-11-23T00:00:00"}, "end"),
    ({"start": "next week", "end": "2026-11-30T00:00:00"}, "start"),
    ({"start": "2026-11-23T00:00:00", "end": "9999-12-31T00:00:00"}, "end"),
    ({"start": "2026-11-23T00:00:00", "end": "2026-11-30T00:00:00+08:00"}, "end"),
    ({"start": "2026-11-30T00:00:00", "end": "2026-11-23T00:00:00"}, "end"),
    ({"start": "2026-11-01T00:00:00", "end": "2027-01-03T00:00:00"}, "end"),  # > 62 days
])
def test_a_bad_range_names_the_field_at_fault(query, field):
    with pytest.raises(ma.ValidationError) as raised:
        calendar_range(query)
    assert raised.value.field_name == field


def test_the_calendar_body_is_compact_json_on_the_instruments_wall_clock():
    from types import SimpleNamespace

    from booking.bookings.calendar import CalendarView
    from booking.bookings.schemas import calendar_body

    def at(day, hour):
        return datetime(2026, 11, day, hour, tzinfo=UTC)

    own = SimpleNamespace(id=7, state="pending", start_at=at(24, 6), end_at=at(24, 7))
    view = CalendarView(free=[(at(23, 1), at(23, 9))], others=[(at(24, 2), at(24, 3))],
                        own=[own], blackouts=((at(25, 0), at(25, 4)),))
    assert json.loads(calendar_body(view, "Asia/Shanghai")) == {
        "free": [["2026-11-23T09:00", "2026-11-23T17:00"]],
        "blackout": [["2026-11-25T08:00", "2026-11-25T12:00"]],
        "busy": [["2026-11-24T10:00", "2026-11-24T11:00"]],
        "own": [{"id": 7, "start": "2026-11-24T14:00", "end": "2026-11-24T15:00",
                 "state": "pending"}]}
    assert json.loads(calendar_body(CalendarView([], [], [], ()), "UTC")) == {
        "free": [], "blackout": [], "busy": [], "own": []}
