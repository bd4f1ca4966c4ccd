"""Booking rules as pure functions on plain values: no Flask, no database, no current user.

Moments are aware UTC datetimes and intervals are half-open [start, end). Opening hours are
wall-clock times in the instrument's IANA timezone, so a day's hours follow DST by themselves.
Problem messages are English msgids with %(name)s parameters; whoever shows one translates it.
"""
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import NamedTuple

from booking.core import states
from booking.core.clock import from_local, to_local
from booking.core.problems import Problem, _l
from booking.instruments.rules import MAX_BOOKING_MINUTES

STATES = ("pending", "approved", "in_use", "completed", "rejected", "cancelled", "expired",
          "no_show")
OCCUPYING_STATES = ("pending", "approved", "in_use")
CANCELLABLE_STATES = ("pending", "approved")  # by the booker or the lab (a no-show is not)
MOVABLE_STATES = ("pending", "approved")  # a booking moved to another time
MODES = ("self_operated", "staff_operated")
MAX_SAMPLES = 1000  # samples one staff-operated (送样) booking may hand in
END_OF_DAY = time(23, 59)  # "open until 23:59" means open until midnight
LONGEST_BOOKING = timedelta(minutes=MAX_BOOKING_MINUTES)  # no instrument allows longer

Interval = tuple[datetime, datetime]


# --- state machine -----------------------------------------------------------------------------
class IllegalTransition(states.IllegalTransition):
    """A booking cannot move from its state to the target one (the API answers 409)."""

    noun = _l("booking")
    words = {"pending": _l("pending approval"), "approved": _l("approved"),
             "in_use": _l("in use"), "completed": _l("completed"), "rejected": _l("rejected"),
             "cancelled": _l("cancelled"), "expired": _l("expired"), "no_show": _l("no-show")}


class CannotApprove(IllegalTransition):
    target = "approved"


class CannotReject(IllegalTransition):
    target = "rejected"


class CannotCancel(IllegalTransition):
    target = "cancelled"


class CannotExpire(IllegalTransition):
    target = "expired"


class CannotCheckIn(IllegalTransition):
    target = "in_use"


class CannotComplete(IllegalTransition):
    target = "completed"


class CannotReopen(IllegalTransition):
    target = "pending"


class CannotMarkNoShow(IllegalTransition):
    target = "no_show"


TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"approved", "rejected", "cancelled", "expired"}),
    # approved -> pending: the booker moved it on an instrument that wants approval
    "approved": frozenset({"in_use", "cancelled", "no_show", "pending"}),
    "in_use": frozenset({"completed"}),
    "completed": frozenset(), "rejected": frozenset(), "cancelled": frozenset(),
    "expired": frozenset(),
    # the lab withdraws a no-show it marked: approved again while the time lasts (the booker
    # came late), else cancelled as the lab's, with its reason (metering.withdraw_no_show)
    "no_show": frozenset({"approved", "cancelled"}),
}
BOOKING_STATES = states.StateTable(TRANSITIONS, [
    CannotApprove, CannotReject, CannotCancel, CannotExpire, CannotCheckIn, CannotComplete,
    CannotMarkNoShow, CannotReopen])


def check_transition(current: str, target: str) -> None:
    """Raise the named IllegalTransition unless `current → target` is allowed."""
    BOOKING_STATES.check(current, target)


# --- intervals ----------------------------------------------------------------------------------
def merge(intervals) -> list[Interval]:
    """Sorted, with overlapping or touching intervals joined."""
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        elif start < end:
            merged.append((start, end))
    return merged


def subtract(base, holes) -> list[Interval]:
    """The parts of `base` not covered by any of `holes`."""
    holes = merge(holes)
    result = []
    for start, end in merge(base):
        for hole_start, hole_end in holes:
            if hole_end <= start:
                continue
            if hole_start >= end:
                break
            if hole_start > start:
                result.append((start, hole_start))
            start = hole_end
            if start >= end:
                break
        if start < end:
            result.append((start, end))
    return result


def clip(intervals, start: datetime, end: datetime) -> list[Interval]:
    return [(max(s, start), min(e, end)) for s, e in intervals if s < end and e > start]


def covers(intervals, start: datetime, end: datetime) -> bool:
    """Whether [start, end) lies inside one of the (merged) intervals."""
    return any(s <= start and end <= e for s, e in merge(intervals))


def overlaps_any(intervals, start: datetime, end: datetime) -> bool:
    return any(s < end and start < e for s, e in intervals)


# --- opening hours -----------------------------------------------------------------------------
@dataclass(frozen=True)
class WeeklyHours:
    weekday: int  # 0 = Monday
    opens: time
    closes: time


@dataclass(frozen=True)
class OpeningCalendar:
    """When an instrument is open: weekly hours, per-day exceptions (None = closed), blackouts."""

    timezone: str
    weekly: tuple[WeeklyHours, ...] = ()
    exceptions: dict[date, tuple[time, time] | None] = field(default_factory=dict)
    blackouts: tuple[Interval, ...] = ()


def _wall_clock(day: date, at: time, timezone: str) -> datetime:
    """A local wall-clock moment in UTC (a time skipped by DST maps to the pre-shift offset)."""
    return from_local(datetime.combine(day, at), timezone)


def _hours_on(day: date, calendar: OpeningCalendar) -> list[tuple[time, time]]:
    if day in calendar.exceptions:
        special = calendar.exceptions[day]
        return [special] if special else []
    return [(h.opens, h.closes) for h in calendar.weekly if h.weekday == day.weekday()]


def opening_intervals(calendar: OpeningCalendar, start: datetime, end: datetime
                      ) -> list[Interval]:
    """Opening hours between start and end, as merged UTC intervals."""
    return list(_opening_intervals(calendar.timezone, calendar.weekly,
                                   frozenset(calendar.exceptions.items()), start, end))


@lru_cache(maxsize=4096)  # pure: every calendar request of a month asks the same question
def _opening_intervals(timezone: str, weekly: tuple[WeeklyHours, ...], exceptions: frozenset,
                       start: datetime, end: datetime) -> tuple[Interval, ...]:
    calendar = OpeningCalendar(timezone, weekly, dict(exceptions))
    day, last = to_local(start, timezone).date(), to_local(end, timezone).date()
    intervals = []
    while day <= last:
        for opens, closes in _hours_on(day, calendar):
            close_at = (_wall_clock(day + timedelta(days=1), time(0), timezone)
                        if closes >= END_OF_DAY else _wall_clock(day, closes, timezone))
            intervals.append((_wall_clock(day, opens, timezone), close_at))
        day += timedelta(days=1)
    return tuple(clip(merge(intervals), start, end))


# --- slot grid ---------------------------------------------------------------------------------
@lru_cache(maxsize=65536)  # pure; calendars ask about the same boundaries again and again
def floor_to_grid(moment: datetime, slot_minutes: int, timezone: str) -> datetime:
    """The latest grid point not after `moment`; the grid starts at local midnight."""
    local = to_local(moment, timezone)
    minutes = local.hour * 60 + local.minute
    return moment - timedelta(minutes=minutes % slot_minutes, seconds=local.second,
                              microseconds=local.microsecond)


def ceil_to_grid(moment: datetime, slot_minutes: int, timezone: str) -> datetime:
    floored = floor_to_grid(moment, slot_minutes, timezone)
    return floored if floored == moment else floored + timedelta(minutes=slot_minutes)


def on_grid(moment: datetime, slot_minutes: int, timezone: str) -> bool:
    return floor_to_grid(moment, slot_minutes, timezone) == moment


# --- availability ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Policy:
    """An instrument's booking rules."""

    timezone: str = "Asia/Shanghai"
    slot_minutes: int = 30
    min_minutes: int = 30
    max_minutes: int = 480
    lead_minutes: int = 60
    max_days_ahead: int = 60
    cancel_deadline_hours: int = 24
    approval_timeout_hours: int = 48
    status: str = "active"
    is_public: bool = True
    allows_self_operated: bool = True
    allows_staff_operated: bool = True
    requires_qualification: bool = False


def bookable_window(policy: Policy, start: datetime, end: datetime, now: datetime
                    ) -> Interval | None:
    """[start, end) cut to what the lead time and the booking horizon allow, or None."""
    first = max(start, now + timedelta(minutes=policy.lead_minutes))
    last = min(end, now + timedelta(days=policy.max_days_ahead))
    return (first, last) if first < last else None


def bookable_grid(policy: Policy, start: datetime, end: datetime, now: datetime
                  ) -> Interval | None:
    """The bookable window fitted to the slot grid: the only way availability() depends on
    `now`, so a calendar rendered for one value stays right for as long as it is unchanged.
    (Free time is fitted to the grid anyway: cutting it at the grid point a window edge rounds
    to gives the same slots as cutting it at the edge.)"""
    window = bookable_window(policy, start, end, now)
    if window is None:
        return None
    return (ceil_to_grid(window[0], policy.slot_minutes, policy.timezone),
            floor_to_grid(window[1], policy.slot_minutes, policy.timezone))


def availability(policy: Policy, calendar: OpeningCalendar, busy, start: datetime,
                 end: datetime, now: datetime) -> list[Interval]:
    """Free bookable time in [start, end): opening hours minus blackouts minus occupying
    bookings, within lead time and horizon, on the slot grid, at least the minimum length."""
    window = bookable_grid(policy, start, end, now)
    if policy.status != "active" or window is None or window[0] >= window[1]:
        return []
    # opening hours of the whole range, then cut to the window: the same (cached) question
    # for every request of the range, whatever the time now
    free = subtract(clip(opening_intervals(calendar, start, end), *window),
                    [*calendar.blackouts, *busy])
    minimum = timedelta(minutes=policy.min_minutes)
    fitted = [(ceil_to_grid(s, policy.slot_minutes, policy.timezone),
               floor_to_grid(e, policy.slot_minutes, policy.timezone)) for s, e in free]
    return [(s, e) for s, e in fitted if e - s >= minimum]


def first_fits(free: list[Interval], length: timedelta, count: int) -> list[Interval]:
    """The first `count` free intervals that hold `length`, each cut to that length: times to
    suggest to someone whose booking was cancelled or who waits for a slot."""
    return [(start, start + length) for start, end in free if end - start >= length][:count]


# --- booking checks ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Booker:
    """What the rules need to know about who books."""

    organisation_verified: bool = True
    membership_confirmed: bool = True
    email_confirmed: bool = True
    is_internal: bool = False
    is_qualified: bool = False


def _booker_problems(policy: Policy, booker: Booker, mode: str) -> list[Problem]:
    problems = []
    if policy.status != "active":
        problems.append(Problem("instrument_inactive", _l("The instrument is not in service.")))
    if not policy.is_public and not booker.is_internal:
        problems.append(Problem("instrument_private", _l(
            "This instrument is open only to members of its own organisation.")))
    if not booker.organisation_verified:
        problems.append(Problem("organisation_unverified", _l(
            "Your organisation has not been verified yet.")))
    if not booker.membership_confirmed:
        problems.append(Problem("membership_unconfirmed", _l(
            "Your membership has not been confirmed by your organisation yet.")))
    if not booker.email_confirmed:
        problems.append(Problem("email_unconfirmed", _l(
            "Confirm your e-mail address first: open the link we sent you.")))
    offered = mode_problems(policy, mode)
    problems += offered
    if not offered and mode == "self_operated" and policy.requires_qualification and \
            not booker.is_qualified:
        problems.append(Problem("qualification_required", _l(
            "Operating this instrument yourself needs a qualification: choose the "
            "staff-operated mode or request training.")))
    return problems


def mode_problems(policy: Policy, mode: str) -> list[Problem]:
    """The service mode must be one the instrument offers (a quote as much as a booking)."""
    offered = {"self_operated": policy.allows_self_operated,
               "staff_operated": policy.allows_staff_operated}
    if offered.get(mode, False):
        return []
    return [Problem("mode_not_offered", _l("The instrument does not offer this service mode."))]


def sample_problems(mode: str, samples: int) -> list[Problem]:
    """A staff-operated (送样) booking states how many samples it hands in (1 to MAX_SAMPLES,
    charged per sample); a self-operated one hands in none."""
    if mode != "staff_operated":
        return [] if samples == 0 else [Problem("samples_self_operated", _l(
            "Only staff-operated bookings hand in samples: leave the number of samples "
            "at 0 for self-operated use."))]
    if samples < 1:
        return [Problem("samples_required", _l(
            "A staff-operated booking needs the number of samples (1 to %(max)d)."),
            {"max": MAX_SAMPLES})]
    if samples > MAX_SAMPLES:
        return [Problem("too_many_samples", _l(
            "A booking may hand in at most %(max)d samples."), {"max": MAX_SAMPLES})]
    return []


def _time_problems(policy: Policy, start: datetime, end: datetime, now: datetime
                   ) -> list[Problem]:
    problems = []
    slot, tz = policy.slot_minutes, policy.timezone
    if not (on_grid(start, slot, tz) and on_grid(end, slot, tz)):
        problems.append(Problem("slot_grid", _l(
            "Start and end must fall on the %(minutes)d-minute slot grid."), {"minutes": slot}))
    minutes = (end - start).total_seconds() / 60
    if minutes <= 0:  # not "too short": the times are the wrong way round
        problems.append(Problem("end_before_start", _l("The end must be after the start.")))
    elif minutes < policy.min_minutes:
        problems.append(Problem("min_length", _l(
            "A booking must last at least %(minutes)d minutes."),
            {"minutes": policy.min_minutes}))
    if minutes > policy.max_minutes:
        problems.append(Problem("max_length", _l(
            "A booking may last at most %(minutes)d minutes."), {"minutes": policy.max_minutes}))
    if start < now + timedelta(minutes=policy.lead_minutes):
        problems.append(Problem("lead_time", _l(
            "A booking must start at least %(minutes)d minutes from now."),
            {"minutes": policy.lead_minutes}) if policy.lead_minutes else Problem(
            "lead_time", _l("This time has begun already: pick a later one.")))
    if end > now + timedelta(days=policy.max_days_ahead):
        problems.append(too_far_ahead(policy.max_days_ahead))
    return problems


def too_far_ahead(max_days_ahead: int) -> Problem:
    return Problem("max_days_ahead", _l("Bookings can be made at most %(days)d days ahead."),
                   {"days": max_days_ahead})


def calendar_problems(calendar: OpeningCalendar, start: datetime, end: datetime
                      ) -> list[Problem]:
    """Closed hours and blackouts in [start, end)."""
    if start >= end:
        return []
    problems = []
    if not covers(opening_intervals(calendar, start, end), start, end):
        problems.append(Problem("outside_opening_hours", _l(
            "The instrument is not open for the whole of this time.")))
    if overlaps_any(calendar.blackouts, start, end):
        problems.append(Problem("blackout", _l(
            "The instrument is unavailable (maintenance or closure) during this time.")))
    return problems


def check_booking(policy: Policy, calendar: OpeningCalendar, booker: Booker, *,
                  start: datetime, end: datetime, mode: str, now: datetime) -> list[Problem]:
    """Every rule the request breaks (empty: it may be booked, if the slot is still free).
    Opening hours are walked day by day, so only for a request no instrument could refuse
    as too long by less than a week: an end in year 9999 must not cost a worker a minute."""
    walkable = end - start <= LONGEST_BOOKING
    return (_booker_problems(policy, booker, mode) + _time_problems(policy, start, end, now)
            + (calendar_problems(calendar, start, end) if walkable else []))


# --- what holds a slot, and one's own bookings elsewhere ------------------------------------------
HOLDING = {"pending": _l("pending approval"), "approved": _l("approved"), "in_use": _l("in use")}
JUST_NOW = timedelta(minutes=5)


def _local_text(moment: datetime, timezone: str) -> str:
    return to_local(moment, timezone).strftime("%Y-%m-%d %H:%M")


class Holder(NamedTuple):
    """What holds a slot: the booking's state, since when, and whether it is the asker's own."""

    state: str
    since: datetime
    own: bool = False
    start: datetime | None = None  # its time (shown on the calendar anyway)
    end: datetime | None = None


def clash_problem(holder: Holder | None, now: datetime, timezone: str) -> Problem:
    """Why a slot is taken, without saying by whom: the holding booking's state and its time
    (since when it holds the slot, when its time is not known), or that it is the asker's own
    booking. `holder` is None when it was freed again before we could look."""
    if holder is not None and holder.own:  # not "someone else", nor a wait list to join
        return Problem("own_booking_clash", _l(
            "You already have a booking (%(state)s) at this time: see My bookings."),
            {"state": HOLDING.get(holder.state, holder.state)})
    if holder is None or now - holder.since < JUST_NOW:
        return Problem("booking_clash", _l(
            "Someone else has just booked (part of) this time. Pick another free slot."))
    state = HOLDING.get(holder.state, holder.state)
    if holder.start is not None and holder.end is not None:
        return Problem("booking_clash", _l(
            "This time is already held by a booking (%(state)s) from %(start)s to %(end)s. "
            "Pick another free slot."), {"state": state,
                                         "start": _local_text(holder.start, timezone),
                                         "end": _local_text(holder.end, timezone)})
    return Problem("booking_clash", _l(
        "This time is already held by a booking (%(state)s) since %(since)s. Pick another "
        "free slot."), {"state": state, "since": _local_text(holder.since, timezone)})


def held_until(holds, user_id: int) -> datetime | None:
    """Until when the slot is held for someone other than `user_id`, from the (user id,
    held until) pairs of the open wait-list offers that overlap it."""
    return max((until for holder, until in holds if holder != user_id), default=None)


def held_problem(until: datetime, timezone: str) -> Problem:
    """A freed time offered to the first on its wait list is theirs until the offer lapses."""
    return Problem("held_for_waitlist", _l(
        "This time is held for someone on the wait list until %(until)s."),
        {"until": _local_text(until, timezone)})


def own_overlap_warnings(own: list[tuple[str, datetime, datetime]], timezone: str
                         ) -> list[Problem]:
    """The booker's bookings of other instruments at the same time: allowed, but worth a word
    (two instruments in two cities at once is usually a mistake)."""
    return [Problem("own_overlap", _l(
        "You also have a booking of %(instrument)s from %(start)s to %(end)s."),
        {"instrument": name, "start": _local_text(start, timezone),
         "end": _local_text(end, timezone)}) for name, start, end in own]


# --- cancellation and expiry -------------------------------------------------------------------
def is_late_cancellation(policy: Policy, start: datetime, now: datetime) -> bool:
    """Cancelling after the deadline (N hours before the start) counts as a late cancellation."""
    return now > start - timedelta(hours=policy.cancel_deadline_hours)


def late_from_the_start(policy: Policy, start: datetime, now: datetime, fee_text: str | None
                        ) -> Problem | None:
    """A booking made inside its free-cancellation window costs something to cancel from the
    moment it is made: worth a word before it is (`fee_text`: that charge, None or empty when
    cancelling is free)."""
    if not fee_text or not is_late_cancellation(policy, start, now):
        return None
    return Problem("cancel_fee_from_start", _l(
        "It starts within %(hours)d hours: once booked, cancelling it costs %(fee)s."),
        {"hours": policy.cancel_deadline_hours, "fee": fee_text})


def approval_deadline(policy: Policy, requested_at: datetime) -> datetime:
    return requested_at + timedelta(hours=policy.approval_timeout_hours)


def open_span(hours: list[tuple[time, time]]) -> tuple[str, str] | None:
    """The hours of a day a calendar needs to show ("08:00", "18:00"): from the earliest
    opening to the latest closing, on whole hours; None when it never opens."""
    if not hours:
        return None
    first = min(opens for opens, _ in hours).hour
    last = max(closes for _, closes in hours)
    end = min(24, last.hour + (1 if last.minute or last.second else 0))
    return f"{first:02d}:00", f"{end:02d}:00"
