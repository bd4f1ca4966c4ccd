"""Time in one place: local calendar periods of the bureau's timezone (Asia/Shanghai, UTC+8)."""
from datetime import UTC, date, datetime

import pytest

from booking.core.clock import (
    PeriodError,
    from_local,
    last_complete_quarter,
    local_today,
    parse_period,
    year_end_utc,
)


@pytest.mark.parametrize("text, label, first, end", [
    ("2026", "2026", date(2026, 1, 1), date(2027, 1, 1)),
    ("2026q4", "2026Q4", date(2026, 10, 1), date(2027, 1, 1)),
    ("2026-12", "2026-12", date(2026, 12, 1), date(2027, 1, 1)),
    (" 2026-02 ", "2026-02", date(2026, 2, 1), date(2026, 3, 1)),
])
def test_periods_parse_to_local_calendar_days(text, label, first, end):
    period = parse_period(text)
    assert (period.label, period.first_day, period.end_day) == (label, first, end)


def test_a_period_starts_at_local_midnight_in_utc():
    # 2026-07-01 00:00 in Shanghai is 2026-06-30 16:00 UTC
    period = parse_period("2026Q3")
    assert period.start == datetime(2026, 6, 30, 16, tzinfo=UTC)
    assert period.end == datetime(2026, 9, 30, 16, tzinfo=UTC)
    assert year_end_utc(2026) == datetime(2026, 12, 31, 16, tzinfo=UTC)


@pytest.mark.parametrize("text, previous", [("2026Q1", "2025Q4"), ("2026Q3", "2026Q2"),
                                            ("2026", "2025"), ("2026-01", "2025-12"),
                                            ("2026-05", "2026-04")])
def test_the_previous_period_is_of_the_same_kind(text, previous):
    assert parse_period(text).previous().label == previous


@pytest.mark.parametrize("text, kinds", [("2026-13", ()), ("2026Q0", ()), ("1999", ()),
                                         ("2026-07", ("year", "quarter")),
                                         ("2026", ("quarter",)), ("", ())])
def test_bad_or_unwanted_periods_are_refused(text, kinds):
    with pytest.raises(PeriodError, match="is not a period"):
        parse_period(text, *kinds)


def test_local_today_and_the_last_complete_quarter():
    # 2026-12-31 17:00 UTC is already 2027-01-01 in Shanghai
    moment = datetime(2026, 12, 31, 17, tzinfo=UTC)
    assert local_today(moment) == date(2027, 1, 1)
    assert last_complete_quarter(local_today(moment)).label == "2026Q4"
    assert from_local(datetime(2027, 1, 1, 1, 0)) == moment


def test_the_time_zone_picker_offers_city_zones_not_old_names():
    """Reported: after the common zones came ~600 names, old ones among them (Africa/Asmera,
    Africa/Timbuktu); an alias stored earlier stays valid."""
    from booking.core.clock import common_timezones, is_valid_timezone

    zones = common_timezones()
    assert zones[0] == "Asia/Shanghai" and "Europe/Paris" in zones and len(zones) < 400
    assert not {"Africa/Asmera", "Africa/Timbuktu", "PRC", "Etc/GMT-8"} & set(zones)
    assert len(zones) == len(set(zones)) and is_valid_timezone("Africa/Asmera")
