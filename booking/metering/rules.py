"""Metering rules as pure functions on plain values: no Flask, no database, no current user.

Sessions are facts: who used which instrument from when to when, and how it was recorded.
A correction is a new session that points at the one it replaces; the effective sessions are
the ones no later row corrects (and that are not a "void" correction).
"""
from datetime import datetime, timedelta

from booking.core.clock import to_local
from booking.core.problems import Problem, _l

SOURCES = ("kiosk", "manager", "api")
NO_SHOW_GRACE = timedelta(minutes=30)  # a booking without a session by end + grace is a no-show


def _overlaps(a_start: datetime, a_end: datetime | None, b_start: datetime,
              b_end: datetime | None) -> bool:
    """Half-open intervals; an open end (running session) reaches to infinity."""
    return (b_end is None or a_start < b_end) and (a_end is None or b_start < a_end)


def longest_session(max_booking_minutes: int) -> timedelta:
    """The longest session a person may enter afterwards: a day, or the instrument's longest
    booking if longer (a month typed for a day must not bill weeks of use)."""
    return max(timedelta(hours=24), timedelta(minutes=max_booking_minutes or 0))


def interval_problems(start: datetime, end: datetime | None, now: datetime,
                      longest: timedelta | None = None) -> list[Problem]:
    """Checks on the times of a session as entered (`longest`: longest_session's)."""
    problems = []
    if end is not None and end <= start:
        problems.append(Problem("negative_duration", _l("The session must end after it starts.")))
    elif end is not None and longest is not None and end - start > longest:
        problems.append(Problem("too_long", _l(
            "A session entered afterwards lasts at most %(hours)s hours: check the dates."),
            {"hours": int(longest.total_seconds() // 3600)}))
    if start > now or (end is not None and end > now):
        problems.append(Problem("in_future", _l("A session cannot be recorded in the future.")))
    return problems


def check_in_problems(start: datetime, end: datetime, early_minutes: int, now: datetime,
                      timezone: str) -> list[Problem]:
    """A booking can be checked in from `early_minutes` before its start until its end: a
    booking later in the day is not due now, whatever else is free."""
    if now >= end:
        return [Problem("booking_over", _l("This booking has already ended."))]
    if now < start - timedelta(minutes=early_minutes):
        return [Problem("too_early", _l(
            "This booking starts at %(start)s; check-in opens %(minutes)d minutes before."),
            {"start": to_local(start, timezone).strftime("%Y-%m-%d %H:%M"),
             "minutes": early_minutes})]
    return []


# The states of a booking whose use can be recorded (not a no-show: its penalty is billed).
RECORDABLE_STATES = ("approved", "in_use", "completed")


def booking_session_problems(start: datetime, state: str, booking_start: datetime,
                             booking_end: datetime, early_minutes: int, timezone: str
                             ) -> list[Problem]:
    """Checks on a finished session entered for a booking: the booking was approved, and the
    session began when it could have been checked in (from `early_minutes` before the
    booking's start until its end); it may run past the end (an overrun)."""
    if state not in RECORDABLE_STATES:
        return [Problem("booking_not_approved", _l(
            "Use can be recorded only for an approved booking; record it without one."))]
    if not booking_start - timedelta(minutes=early_minutes) <= start < booking_end:
        return [Problem("outside_booking", _l(
            "The session must start within its booking (%(start)s–%(end)s) or at most "
            "%(minutes)d minutes before it."),
            {"start": to_local(booking_start, timezone).strftime("%Y-%m-%d %H:%M"),
             "end": to_local(booking_end, timezone).strftime("%H:%M"),
             "minutes": early_minutes})]
    return []


def no_show_problems(state: str, used: bool, start: datetime, now: datetime) -> list[Problem]:
    """The lab marks a booking no-show: an approved one, unused, NO_SHOW_GRACE after its
    start (the daily job does it NO_SHOW_GRACE after its end)."""
    if state != "approved" or used:
        return [Problem("not_a_no_show", _l(
            "Only an approved booking nobody has used can be marked no-show."))]
    if now < start + NO_SHOW_GRACE:
        return [Problem("not_late_yet", _l(
            "A booking can be marked no-show %(minutes)d minutes after its start."),
            {"minutes": int(NO_SHOW_GRACE.total_seconds() // 60)})]
    return []


def no_show_withdrawn_to(end: datetime, now: datetime) -> str:
    """What a no-show the lab withdraws becomes: approved again while its time lasts (the
    booker came late, and is checked in), cancelled by the lab once it is over (nothing is
    charged; the daily job would only mark an approved past booking a no-show again)."""
    return "approved" if now < end else "cancelled"


def is_due(start: datetime, end: datetime, early_minutes: int, now: datetime) -> bool:
    return start - timedelta(minutes=early_minutes) <= now < end


def clash_problems(start: datetime, end: datetime | None,
                   sessions: list[tuple[datetime, datetime | None]],
                   bookings: list[tuple[datetime, datetime]]) -> list[Problem]:
    """Another effective session of the instrument, or someone else's occupying booking,
    overlapping [start, end)."""
    problems = []
    if any(_overlaps(start, end, s, e) for s, e in sessions):
        problems.append(Problem("session_overlap",
                                _l("The instrument is already in use at that time.")))
    if any(_overlaps(start, end, s, e) for s, e in bookings):
        problems.append(Problem("booking_clash",
                                _l("Another booking of this instrument starts before you would "
                                   "finish.")))
    return problems


def used_minutes(start: datetime, end: datetime) -> int:
    return max(int((end - start).total_seconds() // 60), 0)


def overran(booking_end: datetime | None, ended: datetime,
            next_starts: list[datetime]) -> bool:
    """Flag at check-out: the session ran past its booking into someone else's."""
    return booking_end is not None and ended > booking_end and any(
        booking_end <= s < ended for s in next_starts)
