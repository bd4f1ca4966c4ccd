"""schemas.calendar_range: the calendar's query, read without a schema (the hottest answer)."""
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
