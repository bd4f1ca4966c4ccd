"""Blackouts over booked time: the lab sees the bookings a blackout would hit before adding
it; on confirmation they are cancelled without any charge, and each booker is told once the
reason and the next free times of the same length."""
from dataclasses import replace
from datetime import date, datetime, time, timedelta

from booking.accounts.models import User
from booking.bookings import notifications, rules
from booking.bookings.calendar import availability, bookings_between, opening_calendar
from booking.bookings.models import Booking
from booking.bookings.requests import move_booking
from booking.core.clock import from_local, local_midnight, now_utc
from booking.extensions import db
from booking.instruments.models import Blackout, Instrument

HIT_STATES = ("pending", "approved")  # a booking in use is running: the lab deals with it
SUGGESTIONS = 3
LOOK_AHEAD = timedelta(days=14)
HORIZON = timedelta(days=3 * 366)  # past the furthest anyone can book (two years ahead)


def hit_by(instrument: Instrument, start: datetime, end: datetime) -> list[Booking]:
    """The bookings a blackout over [start, end) would cancel, earliest first: those not yet
    over (a booking that has ended is the lab's to record as used or a no-show)."""
    now = now_utc()
    if end <= now:
        return []
    return bookings_between(instrument, max(start, now), end, states=HIT_STATES)


def held_outside(instrument: Instrument, day: date, opens: time | None, closes: time | None
                 ) -> list[Booking]:
    """The bookings still to come on `day` that special hours (`opens` None: closed all day)
    would leave outside the instrument's open time: a blackout cancels them first."""
    bookings = hit_by(instrument, local_midnight(day, instrument.timezone),
                      local_midnight(day + timedelta(days=1), instrument.timezone))
    if opens is None:
        return bookings
    open_from = from_local(datetime.combine(day, opens), instrument.timezone)
    open_until = from_local(datetime.combine(day, closes), instrument.timezone)
    return [b for b in bookings if b.start_at < open_from or b.end_at > open_until]


def left_outside_weekly(instrument: Instrument, intervals_by_weekday: dict) -> list[Booking]:
    """The bookings still to come that new weekly hours ({weekday: [(opens, closes)]}) would
    leave outside the open time, though the present hours hold them (days with special hours
    keep theirs): a blackout cancels them first, as for special hours."""
    now = now_utc()
    bookings = hit_by(instrument, now, now + HORIZON)
    if not bookings:
        return []
    present = opening_calendar(instrument, bookings[0].start_at,
                               max(b.end_at for b in bookings))
    new = replace(present, weekly=tuple(
        rules.WeeklyHours(day, opens, closes)
        for day, intervals in intervals_by_weekday.items() for opens, closes in intervals))
    return [b for b in bookings
            if _open_throughout(present, b) and not _open_throughout(new, b)]


def _open_throughout(calendar: rules.OpeningCalendar, booking: Booking) -> bool:
    return rules.covers(rules.opening_intervals(calendar, booking.start_at, booking.end_at),
                        booking.start_at, booking.end_at)


def running_into(instrument: Instrument, blackout: Blackout) -> list[Booking]:
    """The bookings in use now that run into the blackout: running, they are not cancelled;
    the lab tells their users itself."""
    return bookings_between(instrument, blackout.start_at, blackout.end_at, states=("in_use",))


def held_by(instrument: Instrument, **extra) -> int:
    """The instruments area asks before retiring one: how many bookings still to come it
    holds (those a blackout would cancel)."""
    now = now_utc()
    return len(hit_by(instrument, now, now + HORIZON))


def cancel_for_blackout(instrument: Instrument, blackout: Blackout, actor: User
                        ) -> list[Booking]:
    """Cancel what the (already added) blackout hits: no late-cancel or no-show charge, the
    blackout's reason given to each booker with the next free times."""
    hit = hit_by(instrument, blackout.start_at, blackout.end_at)
    now = now_utc()
    for booking in hit:
        move_booking(booking, "cancelled", actor, blackout_id=blackout.id,
                     reason=blackout.reason)
        booking.cancelled_at = now
        booking.late_cancel = False  # the lab's doing, never the booker's
        booking.decision_reason = blackout.reason[:500]
    db.session.flush()
    by_booker: dict[int, list[Booking]] = {}
    for booking in hit:  # one notice each, however many of their bookings (a series) it hit
        by_booker.setdefault(booking.user_id, []).append(booking)
    for theirs in by_booker.values():
        notifications.notify_cancelled_by_blackout(theirs, next_free_times(instrument, theirs[0]))
    return hit


def next_free_times(instrument: Instrument, booking: Booking) -> list[tuple[datetime, datetime]]:
    """Up to SUGGESTIONS free times as long as the booking, from its start (or now) on."""
    start = max(now_utc(), booking.start_at)
    free = availability(instrument, start, start + LOOK_AHEAD)
    return rules.first_fits(free, booking.end_at - booking.start_at, SUGGESTIONS)
