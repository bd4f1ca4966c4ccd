"""Recurring booking series as pure functions: no Flask, no database, no current user.

A series repeats its first slot by an RFC 5545 rule (FREQ, INTERVAL, BYDAY, COUNT or UNTIL),
expanded by python-dateutil's rrule on the instrument's wall clock: a weekly 10:00-12:00 slot
stays at 10:00-12:00 local time across a daylight-saving change, and only then becomes UTC.
As in RFC 5545 the first slot (DTSTART) is the first occurrence, so it must match the rule
(a weekly series on Tuesdays and Thursdays starts on a Tuesday or a Thursday); a monthly
series repeats the first slot's day of the month and skips months without it (the 31st).

Each occurrence is then checked like a single booking, against facts read once for the whole
series: the instrument's opening calendar over the series' span and the slots held in it.
"""
from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, datetime, time
from itertools import islice

from dateutil.relativedelta import relativedelta
from dateutil.rrule import DAILY, MONTHLY, WEEKLY, rrule, weekday

from booking.bookings import rules
from booking.core.clock import from_local, to_local
from booking.core.problems import Problem, _l

FREQUENCIES = {"daily": DAILY, "weekly": WEEKLY, "monthly": MONTHLY}
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")  # RFC 5545 BYDAY names, Monday first
MAX_INTERVAL = 52  # "every 52 weeks" is already once in the year a series may last
MAX_OCCURRENCES = 120  # twice a week for a year, or daily for four months
MAX_SPAN = relativedelta(years=1)  # the last occurrence starts at most a year after the first


@dataclass(frozen=True)
class Repeat:
    """How a series repeats: `count` occurrences in all, or until the local date `until`
    (inclusive); exactly one of them. `byweekday` only for weekly series (empty: the first
    slot's weekday)."""

    freq: str
    interval: int = 1
    byweekday: tuple[str, ...] = ()
    count: int | None = None
    until: date | None = None

    @property
    def weekdays(self) -> tuple[str, ...]:
        """BYDAY in calendar order, without repeats."""
        return tuple(day for day in WEEKDAYS if day in self.byweekday)

    @property
    def weekday_numbers(self) -> tuple[int, ...]:
        """BYDAY as Python weekdays (0 = Monday), in calendar order."""
        return tuple(WEEKDAYS.index(day) for day in self.weekdays)


Interval = rules.Interval


def repeat_problems(repeat: Repeat, first_day: date) -> list[Problem]:
    """What is wrong with the rule itself, for a series whose first slot starts on the local
    date `first_day` (empty: it can be expanded)."""
    problems = []
    if repeat.freq not in FREQUENCIES:
        problems.append(Problem("repeat_freq", _l(
            "Repeat daily, weekly or monthly.")))
    if not 1 <= repeat.interval <= MAX_INTERVAL:
        problems.append(Problem("repeat_interval", _l(
            "Repeat every 1 to %(max)d days, weeks or months."), {"max": MAX_INTERVAL}))
    if any(day not in WEEKDAYS for day in repeat.byweekday):
        problems.append(Problem("repeat_weekday", _l("Choose weekdays from Monday to Sunday.")))
    elif repeat.byweekday and repeat.freq != "weekly":
        problems.append(Problem("repeat_weekday", _l(
            "Weekdays can be chosen only for a weekly series.")))
    elif repeat.byweekday and WEEKDAYS[first_day.weekday()] not in repeat.byweekday:
        problems.append(Problem("repeat_first_weekday", _l(
            "The first booking must fall on one of the chosen weekdays.")))
    if (repeat.count is None) == (repeat.until is None):
        problems.append(Problem("repeat_end", _l(
            "End the series after a number of times or on a date (one of them).")))
    elif repeat.count is not None and not 1 <= repeat.count <= MAX_OCCURRENCES:
        problems.append(Problem("repeat_count", _l(
            "A series has 1 to %(max)d bookings."), {"max": MAX_OCCURRENCES}))
    elif repeat.until is not None and repeat.until < first_day:
        problems.append(Problem("repeat_until", _l(
            "The series must end on or after the day of its first booking.")))
    elif repeat.until is not None and repeat.until > first_day + MAX_SPAN:
        problems.append(_too_long())
    return problems


def _too_long() -> Problem:
    return Problem("repeat_too_long", _l("A series may last at most one year."))


def expand(repeat: Repeat, start: datetime, end: datetime, timezone: str
           ) -> tuple[list[Interval], list[Problem]]:
    """The occurrences of a series whose first slot is [start, end) (aware), as UTC intervals
    with the first slot's wall-clock times in `timezone`; or the problems that stop it (then
    no occurrences). At most MAX_OCCURRENCES + 1 are ever generated, whatever the rule."""
    local_start = to_local(start, timezone).replace(tzinfo=None)
    length = to_local(end, timezone).replace(tzinfo=None) - local_start  # wall-clock length
    problems = repeat_problems(repeat, local_start.date())
    if problems:
        return [], problems
    rule = rrule(FREQUENCIES[repeat.freq], dtstart=local_start, interval=repeat.interval,
                 byweekday=[weekday(n) for n in repeat.weekday_numbers] or None,
                 count=repeat.count,
                 until=datetime.combine(repeat.until, time.max) if repeat.until else None)
    local = list(islice(rule, MAX_OCCURRENCES + 1))
    if len(local) > MAX_OCCURRENCES:
        return [], [Problem("repeat_too_many", _l(
            "A series has at most %(max)d bookings: end it sooner."), {"max": MAX_OCCURRENCES})]
    if local[-1] > local_start + MAX_SPAN:
        return [], [_too_long()]
    occurrences = [(from_local(s, timezone), from_local(s + length, timezone)) for s in local]
    if any(a_end > b_start for (_, a_end), (b_start, _) in zip(occurrences, occurrences[1:],
                                                                 strict=False)):
        return [], [Problem("repeat_overlaps_itself", _l(
            "Each booking of the series must end before the next one starts."))]
    return occurrences, []


# --- checking each occurrence --------------------------------------------------------------------
@dataclass(frozen=True)
class Held:
    """A slot-occupying booking: its time, its state and since when it holds the slot."""

    start: datetime
    end: datetime
    state: str
    since: datetime


def holder_of(held: list[Held], start: datetime, end: datetime) -> rules.Holder | None:
    """(state, since) of the first of `held` (sorted by start) overlapping [start, end).
    No booking is longer than rules.LONGEST_BOOKING, so only those starting after
    start - LONGEST_BOOKING can reach into the slot."""
    first = bisect_left([h.start for h in held], start - rules.LONGEST_BOOKING)
    for h in held[first:]:
        if h.start >= end:
            return None
        if h.end > start:
            return rules.Holder(h.state, h.since, start=h.start, end=h.end)
    return None


@dataclass(frozen=True)
class Offered:
    """A freed time offered to someone else on its wait list, theirs until `until`."""

    start: datetime
    end: datetime
    until: datetime


def occurrence_problems(policy: rules.Policy, calendar: rules.OpeningCalendar,
                        booker: rules.Booker, *, occurrences: list[Interval], mode: str,
                        samples: int, held: list[Held], offered: list[Offered] = (),
                        now: datetime) -> list[list[Problem]]:
    """For each occurrence, every rule it breaks as a single booking would, the clash when a
    booking of `held` holds (part of) its slot, and a wait-list offer to someone else over it.
    `calendar` covers the whole series."""
    found = []
    for start, end in occurrences:
        problems = rules.check_booking(policy, calendar, booker, start=start, end=end,
                                       mode=mode, now=now) + rules.sample_problems(mode, samples)
        holder = holder_of(held, start, end)
        if holder is not None:
            problems.append(rules.clash_problem(holder, now, policy.timezone))
        offers = [o.until for o in offered if o.start < end and o.end > start]
        if offers:
            problems.append(rules.held_problem(max(offers), policy.timezone))
        found.append(problems)
    return found


def span(occurrences: list[Interval]) -> Interval:
    """From the first start to the last end (occurrences are in order)."""
    return occurrences[0][0], occurrences[-1][1]

