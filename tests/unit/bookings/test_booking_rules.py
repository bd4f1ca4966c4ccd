"""Availability and booking checks as pure functions: no app, no database."""
from datetime import UTC, date, datetime, time, timedelta

import pytest

from booking.bookings import rules
from booking.bookings.rules import Booker, OpeningCalendar, Policy, WeeklyHours
from tests.moments import MONDAY_23_NOV_8AM as NOW


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def weekly(days=range(5), opens=time(8), closes=time(18)):
    return tuple(WeeklyHours(d, opens, closes) for d in days)


SHANGHAI = OpeningCalendar("Asia/Shanghai", weekly())
POLICY = Policy(timezone="Asia/Shanghai", slot_minutes=30, min_minutes=30, max_minutes=240,
                lead_minutes=60, max_days_ahead=30)
BOOKER = Booker(organisation_verified=True, membership_confirmed=True, is_internal=False,
                is_qualified=False)


# --- state machine -----------------------------------------------------------------------------
@pytest.mark.parametrize(("current", "target"), [
    ("pending", "approved"), ("pending", "rejected"), ("pending", "cancelled"),
    ("pending", "expired"), ("approved", "in_use"), ("approved", "cancelled"),
    ("approved", "no_show"), ("in_use", "completed")])
def test_allowed_transitions(current, target):
    rules.check_transition(current, target)


@pytest.mark.parametrize(("current", "target", "error"), [
    ("approved", "approved", rules.CannotApprove), ("rejected", "approved", rules.CannotApprove),
    ("approved", "rejected", rules.CannotReject), ("completed", "cancelled", rules.CannotCancel),
    ("in_use", "cancelled", rules.CannotCancel), ("approved", "expired", rules.CannotExpire),
    ("pending", "in_use", rules.CannotCheckIn), ("approved", "completed", rules.CannotComplete),
    ("cancelled", "no_show", rules.CannotMarkNoShow)])
def test_illegal_transitions_raise_a_named_error(current, target, error):
    with pytest.raises(error) as raised:
        rules.check_transition(current, target)
    assert isinstance(raised.value, rules.IllegalTransition) and raised.value.current == current


def test_every_state_has_a_row_in_the_table():
    assert set(rules.TRANSITIONS) == set(rules.STATES)
    assert set(rules.OCCUPYING_STATES) < set(rules.STATES)


# --- interval helpers --------------------------------------------------------------------------
def test_merge_and_subtract():
    a, b, c, d = (utc(2026, 1, 1, h) for h in (1, 2, 3, 4))
    assert rules.merge([(c, d), (a, b), (b, c)]) == [(a, d)]
    assert rules.subtract([(a, d)], [(b, c)]) == [(a, b), (c, d)]
    assert rules.subtract([(a, b)], [(a, d)]) == []
    assert rules.subtract([(a, d)], []) == [(a, d)]


# --- opening hours -----------------------------------------------------------------------------
def test_shanghai_weekday_hours_in_utc():
    monday = rules.opening_intervals(SHANGHAI, utc(2026, 11, 22, 16), utc(2026, 11, 23, 16))
    assert monday == [(utc(2026, 11, 23, 0), utc(2026, 11, 23, 10))]
    weekend = rules.opening_intervals(SHANGHAI, utc(2026, 11, 20, 16), utc(2026, 11, 22, 16))
    assert weekend == []


def test_berlin_hours_follow_the_spring_dst_switch():
    berlin = OpeningCalendar("Europe/Berlin", weekly(range(7)))
    # DST starts on Sunday 2026-03-29: 08:00 local is 07:00 UTC before, 06:00 UTC from then on.
    intervals = rules.opening_intervals(berlin, utc(2026, 3, 27, 12), utc(2026, 3, 30, 23))
    assert intervals == [
        (utc(2026, 3, 27, 12), utc(2026, 3, 27, 17)), (utc(2026, 3, 28, 7), utc(2026, 3, 28, 17)),
        (utc(2026, 3, 29, 6), utc(2026, 3, 29, 16)), (utc(2026, 3, 30, 6), utc(2026, 3, 30, 16))]


def test_berlin_all_day_opening_on_the_autumn_switch_lasts_25_hours():
    berlin = OpeningCalendar("Europe/Berlin", weekly([6], time(0), time(23, 59)))
    intervals = rules.opening_intervals(berlin, utc(2026, 10, 24), utc(2026, 10, 26))
    assert intervals == [(utc(2026, 10, 24, 22), utc(2026, 10, 25, 23))]
    assert intervals[0][1] - intervals[0][0] == timedelta(hours=25)


def test_open_all_day_joins_across_midnight():
    always = OpeningCalendar("Asia/Shanghai", weekly(range(7), time(0), time(23, 59)))
    policy = Policy(timezone="Asia/Shanghai", lead_minutes=0)
    free = rules.availability(policy, always, [], utc(2026, 11, 23, 12), utc(2026, 11, 23, 20),
                              NOW)
    assert free == [(utc(2026, 11, 23, 12), utc(2026, 11, 23, 20))]  # 20:00–04:00 local


def test_exceptions_close_a_day_or_change_its_hours_across_a_month_end():
    calendar = OpeningCalendar("Asia/Shanghai", weekly(range(7)), exceptions={
        date(2026, 1, 31): None, date(2026, 2, 1): (time(9), time(12))})
    intervals = rules.opening_intervals(calendar, utc(2026, 1, 30, 16), utc(2026, 2, 2, 16))
    assert intervals == [(utc(2026, 2, 1, 1), utc(2026, 2, 1, 4)),
                         (utc(2026, 2, 2, 0), utc(2026, 2, 2, 10))]


# --- availability ------------------------------------------------------------------------------
def test_availability_subtracts_blackouts_and_bookings_on_the_grid():
    calendar = OpeningCalendar("Asia/Shanghai", weekly(), blackouts=(
        (utc(2026, 11, 24, 2, 10), utc(2026, 11, 24, 3)),))  # 10:10–11:00 local
    busy = [(utc(2026, 11, 24, 5), utc(2026, 11, 24, 6))]  # 13:00–14:00 local
    free = rules.availability(POLICY, calendar, busy, utc(2026, 11, 23, 16),
                              utc(2026, 11, 24, 16), NOW)
    assert free == [(utc(2026, 11, 24, 0), utc(2026, 11, 24, 2)),  # 08:00–10:00 (10:00 grid)
                    (utc(2026, 11, 24, 3), utc(2026, 11, 24, 5)),
                    (utc(2026, 11, 24, 6), utc(2026, 11, 24, 10))]


def test_availability_respects_lead_time_horizon_minimum_and_status():
    now = utc(2026, 11, 23, 1, 10)  # 09:10 local: lead 60 min → first slot 10:30
    free = rules.availability(POLICY, SHANGHAI, [], utc(2026, 11, 22, 16), utc(2026, 11, 23, 16),
                              now)
    assert free == [(utc(2026, 11, 23, 2, 30), utc(2026, 11, 23, 10))]
    gap = [(utc(2026, 11, 24, 0, 30), utc(2026, 11, 24, 10))]  # leaves 08:00–08:30 only
    long_minimum = Policy(timezone="Asia/Shanghai", min_minutes=60, lead_minutes=0)
    assert rules.availability(long_minimum, SHANGHAI, gap, utc(2026, 11, 23, 16),
                              utc(2026, 11, 24, 16), NOW) == []
    assert rules.availability(POLICY, SHANGHAI, [], NOW + timedelta(days=31),
                              NOW + timedelta(days=33), NOW) == []
    assert rules.availability(Policy(status="maintenance"), SHANGHAI, [], NOW,
                              NOW + timedelta(days=2), NOW) == []


BERLIN_DST = OpeningCalendar("Europe/Berlin", weekly(days=range(7), opens=time(0),
                                                     closes=time(23, 59)),
                             blackouts=((utc(2026, 3, 29, 5, 7), utc(2026, 3, 29, 6, 41)),))


@pytest.mark.parametrize(("policy", "calendar", "start"), [
    (POLICY, SHANGHAI, utc(2026, 11, 22, 16)),
    (Policy(timezone="Europe/Berlin", slot_minutes=45, min_minutes=45, lead_minutes=100,
            max_days_ahead=1), BERLIN_DST, utc(2026, 3, 28, 23)),  # clocks go forward on the 29th
])
def test_availability_depends_on_now_only_through_the_bookable_grid(policy, calendar, start):
    """What lets a rendered calendar be kept: equal bookable_grid, equal availability. `now`
    sweeps two days in steps that fall between and on grid points, with the lead time and the
    horizon both inside the range, and bookings and blackouts off the grid."""
    end = start + timedelta(days=3)
    busy = [(start + timedelta(hours=10, minutes=13), start + timedelta(hours=11, minutes=2)),
            (start + timedelta(hours=30), start + timedelta(hours=31, minutes=30))]
    seen = {}
    now = start - timedelta(hours=2)
    while now < start + timedelta(days=2):
        for moment in (now, now.replace(second=0, microsecond=0)):
            free = rules.availability(policy, calendar, busy, start, end, moment)
            key = rules.bookable_grid(policy, start, end, moment)
            assert seen.setdefault(key, free) == free, moment
        now += timedelta(minutes=7, seconds=13)
    assert len(seen) > 40  # the sweep did cross many grid points


def test_grid_starts_at_local_midnight():
    assert rules.on_grid(utc(2026, 11, 24, 1), 90, "Asia/Shanghai")  # 09:00 = 6 × 90 min
    assert not rules.on_grid(utc(2026, 11, 24, 1, 30), 90, "Asia/Shanghai")
    assert rules.ceil_to_grid(utc(2026, 11, 24, 1, 1), 30, "Asia/Kolkata") == utc(2026, 11, 24, 1, 30)


# --- check_booking -----------------------------------------------------------------------------
def check(start, end, *, policy=POLICY, calendar=SHANGHAI, booker=BOOKER, mode="self_operated",
          now=NOW):
    return rules.check_booking(policy, calendar, booker, start=start, end=end, mode=mode, now=now)


def codes(problems):
    return {p.code for p in problems}


def test_a_good_request_has_no_problems():
    assert check(utc(2026, 11, 24, 1), utc(2026, 11, 24, 3)) == []


def test_all_broken_rules_are_reported_at_once():
    problems = check(utc(2026, 11, 23, 0, 10), utc(2026, 11, 23, 0, 20),
                     booker=Booker(organisation_verified=False, membership_confirmed=False),
                     policy=Policy(timezone="Asia/Shanghai", status="maintenance",
                                   is_public=False, allows_self_operated=False))
    assert codes(problems) == {"slot_grid", "min_length", "lead_time", "instrument_inactive",
                               "instrument_private", "organisation_unverified",
                               "membership_unconfirmed", "mode_not_offered"}
    assert all(p.message and "%(" not in p.message for p in problems)


@pytest.mark.parametrize(("start", "end", "expected"), [
    (utc(2026, 11, 24, 1), utc(2026, 11, 24, 6), {"max_length"}),
    (utc(2026, 11, 28, 1), utc(2026, 11, 28, 2), {"outside_opening_hours"}),  # Saturday
    (utc(2026, 11, 24, 9), utc(2026, 11, 24, 11), {"outside_opening_hours"}),  # past 18:00
    (utc(2026, 12, 24, 1), utc(2026, 12, 24, 2), {"max_days_ahead"}),
    (utc(2026, 11, 23, 0, 30), utc(2026, 11, 23, 1, 30), {"lead_time"}),
    # the wrong way round is said so, not "too short"
    (utc(2026, 11, 24, 3), utc(2026, 11, 24, 2), {"end_before_start"}),
])
def test_single_rules(start, end, expected):
    assert codes(check(start, end)) == expected


def test_blackout_and_qualification():
    calendar = OpeningCalendar("Asia/Shanghai", weekly(), blackouts=(
        (utc(2026, 11, 24, 2), utc(2026, 11, 24, 4)),))
    needs = Policy(timezone="Asia/Shanghai", requires_qualification=True)
    start, end = utc(2026, 11, 24, 3), utc(2026, 11, 24, 5)
    assert codes(check(start, end, calendar=calendar, policy=needs)) == {
        "blackout", "qualification_required"}
    assert codes(check(start, end, calendar=calendar, policy=needs,
                       mode="staff_operated")) == {"blackout"}
    assert codes(check(start, end, policy=needs,
                       booker=Booker(is_qualified=True))) == set()


def test_private_instrument_is_open_to_its_own_organisation():
    private = Policy(timezone="Asia/Shanghai", is_public=False)
    assert check(utc(2026, 11, 24, 1), utc(2026, 11, 24, 2), policy=private,
                 booker=Booker(is_internal=True)) == []


def test_messages_carry_their_parameters():
    problems = check(utc(2026, 11, 24, 1), utc(2026, 11, 24, 6))
    assert problems[0].message == "A booking may last at most 240 minutes."


def test_late_cancellation_and_approval_deadline():
    start = utc(2026, 11, 25, 2)
    assert not rules.is_late_cancellation(POLICY, start, start - timedelta(hours=25))
    assert rules.is_late_cancellation(POLICY, start, start - timedelta(hours=23))
    warning = rules.late_from_the_start(POLICY, start, start - timedelta(hours=23), "¥300.00")
    assert warning.code == "cancel_fee_from_start" and warning.params["fee"] == "¥300.00"
    assert rules.late_from_the_start(POLICY, start, start - timedelta(hours=25), "¥300.00") \
        is None
    assert rules.late_from_the_start(POLICY, start, start - timedelta(hours=1), None) is None
    assert rules.approval_deadline(POLICY, NOW) == NOW + timedelta(hours=48)


# --- samples of staff-operated (送样) bookings ----------------------------------------------------
@pytest.mark.parametrize(("mode", "samples", "expected"), [
    ("staff_operated", 1, []), ("staff_operated", rules.MAX_SAMPLES, []),
    ("staff_operated", 0, ["samples_required"]), ("staff_operated", -3, ["samples_required"]),
    ("staff_operated", rules.MAX_SAMPLES + 1, ["too_many_samples"]),
    ("self_operated", 0, []), ("self_operated", 2, ["samples_self_operated"]),
])
def test_a_staff_operated_booking_states_its_samples(mode, samples, expected):
    assert [p.code for p in rules.sample_problems(mode, samples)] == expected


def test_the_samples_message_names_the_rule():
    [problem] = rules.sample_problems("staff_operated", 0)
    assert problem.message == ("A staff-operated booking needs the number of samples "
                               "(1 to 1000).")


def test_an_overlong_request_is_refused_without_walking_its_days(monkeypatch):
    """An end in year 9999 must not cost a worker minutes: the opening hours are walked day
    by day, so only for a request no longer than the longest booking any instrument allows."""
    monkeypatch.setattr(rules, "opening_intervals", lambda *args: pytest.fail("walked the days"))
    start = datetime(2026, 3, 2, 1, tzinfo=UTC)
    problems = rules.check_booking(Policy(), OpeningCalendar(timezone="Asia/Shanghai"),
                                   Booker(), start=start, end=start + timedelta(days=700_000),
                                   mode="self_operated", now=start - timedelta(days=1))
    assert {p.code for p in problems} >= {"max_length", "max_days_ahead"}


# --- what holds a taken slot, and one's own bookings elsewhere (issue 18) ------------------------
@pytest.mark.parametrize("holder", [None, rules.Holder("approved", NOW - timedelta(minutes=2))])
def test_a_slot_taken_a_moment_ago_is_just_booked(holder):
    problem = rules.clash_problem(holder, NOW, "Asia/Shanghai")
    assert problem.code == "booking_clash" and "just booked" in problem.message


def test_a_slot_held_for_weeks_says_by_what_and_since_when_not_by_whom():
    # held by an approved booking made on Fri 6 Nov 14:30 in Shanghai (06:30 UTC)
    problem = rules.clash_problem(rules.Holder("approved", utc(2026, 11, 6, 6, 30)), NOW,
                                  "Asia/Shanghai")
    assert problem.message == ("This time is already held by a booking (approved) since "
                               "2026-11-06 14:30. Pick another free slot.")


def test_a_taken_slot_says_the_holding_bookings_time_where_it_is_known():
    """Reported: "held since 2026-11-26 21:00" read as the clashing time; it was when the
    other booking was made. Its own time is what the booker needs (the calendar shows it)."""
    problem = rules.clash_problem(rules.Holder(
        "approved", utc(2026, 11, 6, 6, 30), start=utc(2026, 11, 24, 6), end=utc(2026, 11, 24, 6, 30)),
        NOW, "Asia/Shanghai")
    assert problem.message == ("This time is already held by a booking (approved) from "
                               "2026-11-24 14:00 to 2026-11-24 14:30. Pick another free slot.")


@pytest.mark.parametrize("since", [NOW - timedelta(minutes=2), utc(2026, 11, 6, 6, 30)])
def test_a_slot_held_by_ones_own_booking_says_so(since):
    """Reported: one's own booking read "someone else has just booked" and offered the wait
    list, which then refused since the time was one's own."""
    problem = rules.clash_problem(rules.Holder("pending", since, own=True), NOW, "Asia/Shanghai")
    assert problem.code == "own_booking_clash"
    assert problem.message == ("You already have a booking (pending approval) at this time: "
                               "see My bookings.")


def test_a_slot_is_held_until_the_latest_offer_to_someone_else():
    # offers to user 7 until 10:00 and 11:00, to user 9 until 12:00 (UTC)
    holds = ((7, utc(2026, 11, 23, 10)), (7, utc(2026, 11, 23, 11)), (9, utc(2026, 11, 23, 12)))
    assert rules.held_until(holds, 9) == utc(2026, 11, 23, 11)  # its own offer holds nothing
    assert rules.held_until(holds, 3) == utc(2026, 11, 23, 12)
    assert rules.held_until(holds[2:], 9) is None and rules.held_until((), 3) is None


def test_own_bookings_elsewhere_are_warnings_in_local_time():
    [warning] = rules.own_overlap_warnings(
        [("扫描电镜", utc(2026, 11, 24, 2), utc(2026, 11, 24, 3))], "Asia/Shanghai")
    assert warning.code == "own_overlap"
    assert warning.message == "You also have a booking of 扫描电镜 from 2026-11-24 10:00 to " \
                              "2026-11-24 11:00."


def test_first_fits_cuts_the_first_long_enough_free_times():
    hour = timedelta(hours=1)
    free = [(NOW, NOW + hour / 2), (NOW + 2 * hour, NOW + 5 * hour), (NOW + 6 * hour, NOW + 7 * hour),
            (NOW + 8 * hour, NOW + 10 * hour)]
    # the half hour is too short; each other interval gives one time of the asked length
    assert rules.first_fits(free, hour, 2) == [(NOW + 2 * hour, NOW + 3 * hour),
                                               (NOW + 6 * hour, NOW + 7 * hour)]
    assert rules.first_fits(free, 4 * hour, 3) == []


@pytest.mark.parametrize(("hours", "span"), [
    ([], None),
    ([(time(8), time(12)), (time(13, 30), time(18))], ("08:00", "18:00")),
    ([(time(8, 30), time(17, 45)), (time(9), time(20))], ("08:00", "20:00")),  # whole hours
    ([(time(0), time(23, 59))], ("00:00", "24:00")),  # always open: the whole day
])
def test_a_calendar_shows_the_hours_the_instrument_opens(hours, span):
    assert rules.open_span(hours) == span


def test_without_lead_time_a_begun_time_says_it_has_begun():
    """Reported: "must start at least 0 minutes from now" (the lab booking a walk-in)."""
    [problem] = check(utc(2026, 11, 23, 1), utc(2026, 11, 23, 2), now=utc(2026, 11, 23, 1, 10),
                      policy=Policy(timezone="Asia/Shanghai", lead_minutes=0))
    assert problem.code == "lead_time" and "begun already" in problem.message
