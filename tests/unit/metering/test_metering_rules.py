from datetime import UTC, datetime, timedelta

import pytest

from booking.metering import rules
from tests.moments import MONDAY_2_MAR_9AM as T

H = timedelta(hours=1)


def codes(problems):
    return [p.code for p in problems]


def test_interval_problems():
    assert rules.interval_problems(T, T + H, T + 2 * H) == []
    assert codes(rules.interval_problems(T, T, T + H)) == ["negative_duration"]
    assert codes(rules.interval_problems(T, T + 3 * H, T + H)) == ["in_future"]


@pytest.mark.parametrize("start,end,expected", [
    (T + H, T + 2 * H, []),                       # touches the end: half-open, no clash
    (T + H / 2, T + 2 * H, ["session_overlap"]),
    (T - H, None, ["session_overlap"]),           # running session reaches on
])
def test_clash_with_sessions(start, end, expected):
    assert codes(rules.clash_problems(start, end, [(T, T + H)], [])) == expected


def test_clash_with_running_session_and_bookings():
    assert codes(rules.clash_problems(T + 5 * H, T + 6 * H, [(T, None)], [])) == \
        ["session_overlap"]
    assert codes(rules.clash_problems(T, T + 2 * H, [], [(T + H, T + 3 * H)])) == \
        ["booking_clash"]


def test_used_minutes():
    assert rules.used_minutes(T, T + timedelta(minutes=61, seconds=59)) == 61
    assert rules.used_minutes(T + H, T) == 0


def test_overrun_only_into_a_following_booking():
    assert rules.overran(T, T + H, [T + H / 2])
    assert not rules.overran(T, T + H, [T + H])     # next starts exactly when we end
    assert not rules.overran(T, T - H / 2, [T])     # ended early
    assert not rules.overran(None, T + H, [T])      # walk-up: no booking to run over


# --- the check-in window (issue 18) ------------------------------------------------------------
# A booking 09:00-10:00 (Shanghai) on an instrument whose check-in opens 15 minutes early.
START = datetime(2026, 3, 2, 1, tzinfo=UTC)
END = START + timedelta(hours=1)


@pytest.mark.parametrize("now,code", [
    (START - timedelta(minutes=15, seconds=1), "too_early"),  # 08:44:59
    (START - timedelta(minutes=15), None),  # 08:45: the window opens
    (END - timedelta(seconds=1), None),  # 09:59:59: still due
    (END, "booking_over"),  # 10:00
])
def test_a_booking_is_due_from_its_check_in_window_until_its_end(now, code):
    problems = rules.check_in_problems(START, END, 15, now, "Asia/Shanghai")
    assert [p.code for p in problems] == ([code] if code else [])
    assert rules.is_due(START, END, 15, now) == (code is None)


def test_too_early_names_the_local_start_and_the_window():
    [problem] = rules.check_in_problems(START, END, 15, START - timedelta(hours=6),
                                        "Asia/Shanghai")
    assert problem.params == {"start": "2026-03-02 09:00", "minutes": 15}


@pytest.mark.parametrize("start,state,code", [
    (START - timedelta(minutes=15), "approved", None),  # from the check-in window
    (START - timedelta(minutes=16), "approved", "outside_booking"),
    (END - timedelta(minutes=1), "completed", None),  # a second session of a used booking
    (END, "in_use", "outside_booking"),  # after the booking: not its use
    (START - timedelta(days=3), "approved", "outside_booking"),  # the reported case
    (START, "pending", "booking_not_approved"),
    (START, "cancelled", "booking_not_approved"),
    (START, "no_show", "booking_not_approved"),  # its penalty is billed, not its use
])
def test_a_session_entered_for_a_booking_starts_when_it_could_be_checked_in(start, state, code):
    problems = rules.booking_session_problems(start, state, START, END, 15, "Asia/Shanghai")
    assert [p.code for p in problems] == ([code] if code else [])


def test_outside_booking_names_the_bookings_local_times():
    [problem] = rules.booking_session_problems(START - timedelta(days=1), "approved", START, END,
                                               15, "Asia/Shanghai")
    assert problem.params == {"start": "2026-03-02 09:00", "end": "10:00", "minutes": 15}


@pytest.mark.parametrize("state,used,now,code", [
    ("approved", False, START + timedelta(minutes=30), None),  # half an hour late: the lab may
    ("approved", False, START + timedelta(minutes=29), "not_late_yet"),
    ("approved", True, END, "not_a_no_show"),  # used
    ("in_use", False, END, "not_a_no_show"),
    ("pending", False, END, "not_a_no_show"),
])
def test_the_lab_marks_a_no_show_half_an_hour_after_the_start(state, used, now, code):
    problems = rules.no_show_problems(state, used, START, now)
    assert [p.code for p in problems] == ([code] if code else [])


@pytest.mark.parametrize("now, target", [
    (START + timedelta(minutes=35), "approved"),  # the booker walked in late: checked in
    (END - timedelta(seconds=1), "approved"),
    (END, "cancelled"),  # over: excused, nothing charged
])
def test_a_withdrawn_no_show_is_approved_while_its_time_lasts(now, target):
    assert rules.no_show_withdrawn_to(END, now) == target


def test_a_session_entered_afterwards_is_bounded_by_a_day_or_the_longest_booking():
    """Reported: a month typed for a day recorded 52 days of use, billed ¥224,730."""
    interval_problems, longest_session = rules.interval_problems, rules.longest_session
    start, now = datetime(2025, 12, 15, tzinfo=UTC), datetime(2026, 12, 7, tzinfo=UTC)
    day = longest_session(480)
    assert day == timedelta(hours=24) and longest_session(72 * 60) == timedelta(hours=72)
    assert [p.code for p in interval_problems(start, start + timedelta(days=52), now, day)] == [
        "too_long"]
    assert interval_problems(start, start + timedelta(hours=24), now, day) == []
    assert interval_problems(start, start + timedelta(days=3), now, longest_session(72 * 60)) == []
