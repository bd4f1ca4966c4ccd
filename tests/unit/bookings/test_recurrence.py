"""Recurring series as pure functions: expansion on the instrument's wall clock, the bounds of
a rule, and what stands in each occurrence's way. Hand-computed in Asia/Shanghai (UTC+8, no
daylight saving), and once across a daylight-saving change in Europe/Berlin."""
from datetime import UTC, date, datetime, time, timedelta

import pytest

from booking.bookings import recurrence, rules
from booking.bookings.recurrence import MAX_OCCURRENCES, Held, Repeat
from booking.bookings.rules import Booker, OpeningCalendar, Policy, WeeklyHours
from tests.moments import MONDAY_23_NOV_8AM as NOW
from tests.moments import TUESDAY_24_NOV_10AM

SHANGHAI = "Asia/Shanghai"
TUE_10 = TUESDAY_24_NOV_10AM  # Tue 24 Nov 2026, 10:00 in Shanghai = 02:00 UTC
TUE_12 = TUE_10 + timedelta(hours=2)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def starts(repeat, start=TUE_10, end=TUE_12, timezone=SHANGHAI) -> list[datetime]:
    occurrences, problems = recurrence.expand(repeat, start, end, timezone)
    assert problems == []
    return [s for s, _ in occurrences]


def codes(repeat, start=TUE_10, end=TUE_12) -> list[str]:
    occurrences, problems = recurrence.expand(repeat, start, end, SHANGHAI)
    assert occurrences == []
    return [p.code for p in problems]


# --- expansion -------------------------------------------------------------------------------------
def test_weekly_on_two_days_keeps_the_local_slot():
    occurrences, _ = recurrence.expand(Repeat("weekly", 1, ("TH", "TU"), count=4), TUE_10,
                                       TUE_12, SHANGHAI)
    # Tue 24, Thu 26 Nov, Tue 1, Thu 3 Dec, each 10:00-12:00 Shanghai = 02:00-04:00 UTC
    assert occurrences == [(utc(2026, 11, d, 2), utc(2026, 11, d, 4)) for d in (24, 26)] + \
        [(utc(2026, 12, d, 2), utc(2026, 12, d, 4)) for d in (1, 3)]


def test_weekly_without_days_repeats_the_start_day_every_other_week():
    assert starts(Repeat("weekly", 2, count=3)) == [
        utc(2026, 11, 24, 2), utc(2026, 12, 8, 2), utc(2026, 12, 22, 2)]


def test_daily_every_second_day_until_a_date_includes_that_day():
    monday_9 = utc(2026, 11, 23, 1)  # Mon 23 Nov, 09:00 Shanghai
    assert starts(Repeat("daily", 2, until=date(2026, 11, 29)), monday_9,
                  monday_9 + timedelta(hours=1)) == [
        utc(2026, 11, d, 1) for d in (23, 25, 27, 29)]


def test_monthly_on_the_31st_skips_shorter_months():
    new_year_eve = utc(2026, 12, 31, 1)  # Thu 31 Dec 2026, 09:00 Shanghai
    assert starts(Repeat("monthly", count=3), new_year_eve,
                  new_year_eve + timedelta(hours=1)) == [
        utc(2026, 12, 31, 1), utc(2027, 1, 31, 1), utc(2027, 3, 31, 1)]


def test_a_slot_keeps_its_wall_clock_across_daylight_saving():
    # Berlin: Tue 24 Mar 2026 10:00-11:00 CET = 09:00 UTC; Tue 31 Mar, after the change to
    # CEST on 29 Mar, 10:00 local = 08:00 UTC
    occurrences, _ = recurrence.expand(Repeat("weekly", count=2), utc(2026, 3, 24, 9),
                                       utc(2026, 3, 24, 10), "Europe/Berlin")
    assert occurrences == [(utc(2026, 3, 24, 9), utc(2026, 3, 24, 10)),
                           (utc(2026, 3, 31, 8), utc(2026, 3, 31, 9))]


def test_a_year_of_weekly_bookings_is_allowed():
    weekly_year = starts(Repeat("weekly", until=date(2027, 11, 24)))
    assert len(weekly_year) == 53 and weekly_year[-1] == utc(2027, 11, 23, 2)


# --- the bounds of a rule -----------------------------------------------------------------------------
@pytest.mark.parametrize(("repeat", "code"), [
    (Repeat("yearly", count=2), "repeat_freq"),
    (Repeat("weekly", 0, count=2), "repeat_interval"),
    (Repeat("weekly", 53, count=2), "repeat_interval"),
    (Repeat("daily", byweekday=("TU",), count=2), "repeat_weekday"),
    (Repeat("weekly", byweekday=("XX",), count=2), "repeat_weekday"),
    (Repeat("weekly", byweekday=("MO", "WE"), count=2), "repeat_first_weekday"),
    (Repeat("weekly"), "repeat_end"),
    (Repeat("weekly", count=2, until=date(2026, 12, 31)), "repeat_end"),
    (Repeat("weekly", count=0), "repeat_count"),
    (Repeat("weekly", count=MAX_OCCURRENCES + 1), "repeat_count"),
    (Repeat("weekly", until=date(2026, 11, 23)), "repeat_until"),
    (Repeat("weekly", until=date(2027, 11, 25)), "repeat_too_long"),
])
def test_a_wrong_rule_is_refused_before_expanding(repeat, code):
    assert codes(repeat) == [code]


def test_at_most_a_year_and_a_bounded_number_of_bookings():
    assert codes(Repeat("weekly", count=60)) == ["repeat_too_long"]  # the 60th: 59 weeks on
    assert codes(Repeat("daily", until=date(2027, 6, 1))) == ["repeat_too_many"]
    assert len(starts(Repeat("daily", count=MAX_OCCURRENCES))) == MAX_OCCURRENCES


def test_occurrences_may_not_overlap_each_other():
    two_days = TUE_10 + timedelta(days=2)
    assert codes(Repeat("daily", count=3), TUE_10, two_days) == ["repeat_overlaps_itself"]
    assert len(starts(Repeat("weekly", count=3), TUE_10, two_days)) == 3


# --- checking each occurrence ---------------------------------------------------------------------
POLICY = Policy(timezone=SHANGHAI, slot_minutes=30, min_minutes=30, max_minutes=240,
                lead_minutes=60, max_days_ahead=30)
BOOKER = Booker()
WEEKDAYS_8_TO_18 = tuple(WeeklyHours(d, time(8), time(18)) for d in range(5))


def test_each_occurrence_meets_the_rules_and_clashes_on_its_own():
    # weekly on Tuesdays from 24 Nov, six times: 24 Nov, 1, 8, 15, 22 and 29 Dec
    occurrences, _ = recurrence.expand(Repeat("weekly", count=6), TUE_10, TUE_12, SHANGHAI)
    calendar = OpeningCalendar(
        SHANGHAI, WEEKDAYS_8_TO_18, exceptions={date(2026, 12, 15): None},  # closed that day
        blackouts=((utc(2026, 12, 8, 0), utc(2026, 12, 8, 10)),))  # 8 Dec, 08:00-18:00
    held = [Held(utc(2026, 12, 1, 3), utc(2026, 12, 1, 5), "approved",  # 1 Dec, 11:00-13:00
                 utc(2026, 11, 20, 1))]
    found = recurrence.occurrence_problems(POLICY, calendar, BOOKER, occurrences=occurrences,
                                           mode="self_operated", samples=0, held=held, now=NOW)
    assert [[p.code for p in problems] for problems in found] == [
        [], ["booking_clash"], ["blackout"], ["outside_opening_hours"], [],
        ["max_days_ahead"]]  # 29 Dec ends after 23 Dec 08:00, 30 days from now
    # the holder's own time, in the instrument's time
    assert (found[1][0].params["start"], found[1][0].params["end"]) == (
        "2026-12-01 11:00", "2026-12-01 13:00")


def test_what_is_wrong_with_the_booker_is_wrong_with_every_occurrence():
    occurrences, _ = recurrence.expand(Repeat("weekly", count=2), TUE_10, TUE_12, SHANGHAI)
    found = recurrence.occurrence_problems(
        POLICY, OpeningCalendar(SHANGHAI, WEEKDAYS_8_TO_18),
        Booker(organisation_verified=False), occurrences=occurrences, mode="staff_operated",
        samples=0, held=[], now=NOW)
    assert [sorted(p.code for p in problems) for problems in found] == [
        ["organisation_unverified", "samples_required"]] * 2


def test_a_long_booking_that_began_days_before_still_holds_the_slot():
    week_long = Held(TUE_10 - timedelta(days=6), TUE_10 + timedelta(minutes=30), "pending",
                     NOW)
    later = Held(TUE_12, TUE_12 + timedelta(hours=1), "approved", NOW)
    assert recurrence.holder_of([week_long, later], TUE_10, TUE_12)[:3] == ("pending", NOW, False)
    assert recurrence.holder_of([later], TUE_10, TUE_12) is None  # touching is free
    assert recurrence.holder_of([], TUE_10, TUE_12) is None
    assert rules.LONGEST_BOOKING == timedelta(days=7)


def test_a_time_offered_to_someone_on_the_wait_list_is_theirs_until_the_offer_lapses():
    occurrences, _ = recurrence.expand(Repeat("weekly", count=2), TUE_10, TUE_12, SHANGHAI)
    offer = recurrence.Offered(utc(2026, 12, 1, 3), utc(2026, 12, 1, 4),  # 1 Dec 11:00-12:00
                               until=utc(2026, 11, 23, 4))  # offered until Mon 12:00
    found = recurrence.occurrence_problems(
        POLICY, OpeningCalendar(SHANGHAI, WEEKDAYS_8_TO_18), BOOKER, occurrences=occurrences,
        mode="self_operated", samples=0, held=[], offered=[offer], now=NOW)
    assert [[p.code for p in problems] for problems in found] == [[], ["held_for_waitlist"]]
    assert found[1][0].params["until"] == "2026-11-23 12:00"
