"""Wait lists: someone waits for a taken time of an instrument; when the time frees (a
booking cancelled, rejected, expired or moved away), the first in line whose whole time is
now bookable is offered it, by e-mail and inbox, and the time is held for them for
WAITLIST_HOLD_MINUTES; an offer not taken in time (or left) goes to the next in line.
Workflows flush, never commit."""
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import select

from booking.accounts.models import User
from booking.bookings import notifications
from booking.bookings.calendar import booking_problems, bookings_between
from booking.bookings.models import Booking, WaitlistEntry
from booking.bookings.requests import create_booking, default_charge
from booking.core import audit
from booking.core.clock import now_utc
from booking.core.problems import Problem, Refused, _l
from booking.extensions import db
from booking.instruments.models import Instrument


class WaitlistRefused(Refused):
    """Joining, leaving or taking an offer was refused (every reason is listed)."""


def _refuse(code: str, message: str) -> None:
    raise WaitlistRefused(Problem(code, message))


# --- joining and leaving -------------------------------------------------------------------------
def join(instrument: Instrument, user: User, *, start: datetime, end: datetime, mode: str,
         samples: int = 0, purpose: str = "") -> WaitlistEntry:
    """Wait for [start, end): only a time the user could book if it were free, that someone
    else holds now, and not twice."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    problems = [p for p in booking_problems(instrument, user, start=start, end=end, mode=mode,
                                            samples=samples) if p.code != "held_for_waitlist"]
    if problems:
        raise WaitlistRefused(problems)
    holders = bookings_between(instrument, start, end)
    if not holders:
        _refuse("slot_free", _l("This time is free: book it now."))
    if any(b.user_id == user.id for b in holders):
        _refuse("own_booking", _l("You already hold (part of) this time."))
    if _open_entries(instrument.id, start, end, user_id=user.id):
        _refuse("already_waiting", _l("You are already on the wait list for this time."))
    entry = WaitlistEntry(instrument_id=instrument.id, user_id=user.id, start_at=start,
                          end_at=end, mode=mode, sample_count=samples, purpose=purpose[:2000])
    db.session.add(entry)
    db.session.flush()
    audit.record("waitlist.joined", actor=user, obj=entry, start=start.isoformat(),
                 end=end.isoformat())
    return entry


def leave(entry: WaitlistEntry, user: User) -> None:
    if not entry.is_open:
        _refuse("not_waiting", _l("You are no longer on this wait list."))
    offered = entry.state == "offered"
    entry.state = "left"
    audit.record("waitlist.left", actor=user, obj=entry)
    if offered:  # the held time goes to the next in line
        offer_freed(entry.instrument, entry.start_at, entry.end_at)


def _open_entries(instrument_id: int, start: datetime, end: datetime, *,
                  user_id: int | None = None, states=("waiting", "offered")):
    query = select(WaitlistEntry).where(
        WaitlistEntry.instrument_id == instrument_id, WaitlistEntry.state.in_(states),
        WaitlistEntry.start_at < end, WaitlistEntry.end_at > start)
    if user_id is not None:
        query = query.where(WaitlistEntry.user_id == user_id)
    return list(db.session.scalars(query.order_by(WaitlistEntry.created_at, WaitlistEntry.id)))


# --- offers --------------------------------------------------------------------------------------
def on_slot_freed(instrument_id: int, *, start: datetime, end: datetime) -> None:
    """Receiver of signals.slot_freed."""
    if end > now_utc():
        offer_freed(db.session.get(Instrument, instrument_id), start, end)


def offer_freed(instrument: Instrument, start: datetime, end: datetime) -> list[WaitlistEntry]:
    """Offer a freed time to those waiting for (part of) it, in order of arrival: each whose
    whole time is now free, bookable for them and not held for someone else."""
    now = now_utc()
    hold = timedelta(minutes=current_app.config["WAITLIST_HOLD_MINUTES"])
    offered = []
    for entry in _open_entries(instrument.id, start, end, states=("waiting",)):
        if entry.start_at <= now or not _bookable_for(entry):
            continue
        entry.state, entry.offered_at = "offered", now
        entry.offer_expires_at = min(now + hold, entry.start_at)
        db.session.flush()  # held from now on: the next entry sees it
        audit.record("waitlist.offered", actor=None, obj=entry,
                     until=entry.offer_expires_at.isoformat())
        notifications.notify_waitlist_offer(entry)
        offered.append(entry)
    return offered


def _bookable_for(entry: WaitlistEntry) -> bool:
    instrument = entry.instrument
    return not bookings_between(instrument, entry.start_at, entry.end_at) and not \
        booking_problems(instrument, entry.user, start=entry.start_at, end=entry.end_at,
                         mode=entry.mode, samples=entry.sample_count)


def accept(entry: WaitlistEntry, user: User) -> Booking:
    """Take the offer: an ordinary booking request of the held time (every rule applies)."""
    if entry.state != "offered" or entry.offer_expires_at <= now_utc():
        _refuse("offer_gone", _l("This offer has lapsed: the time went to the next in line."))
    project, fee = default_charge(entry.instrument, user, entry.start_at, entry.end_at,
                                  entry.mode, entry.sample_count)
    booking = create_booking(entry.instrument, user, start=entry.start_at, end=entry.end_at,
                             mode=entry.mode, purpose=entry.purpose or "-",
                             samples=entry.sample_count, project=project, fee_fen=fee)
    entry.state, entry.booking_id = "booked", booking.id
    audit.record("waitlist.booked", actor=user, obj=entry, booking_id=booking.id)
    return booking


def lapse(now: datetime | None = None) -> int:
    """Offers not taken in time lapse and their time goes to the next in line; entries whose
    time has begun lapse. Run by `flask bookings expire`. Returns how many lapsed."""
    now = now or now_utc()
    gone = list(db.session.scalars(select(WaitlistEntry).where(
        WaitlistEntry.state == "offered", WaitlistEntry.offer_expires_at <= now)))
    stale = list(db.session.scalars(select(WaitlistEntry).where(
        WaitlistEntry.state == "waiting", WaitlistEntry.start_at <= now)))
    for entry in gone + stale:
        entry.state = "expired"
    db.session.flush()
    for entry in gone:
        offer_freed(entry.instrument, entry.start_at, entry.end_at)
    return len(gone) + len(stale)


def open_entries(user: User):
    """A query of the user's open entries, the soonest time first."""
    return select(WaitlistEntry).where(
        WaitlistEntry.user_id == user.id, WaitlistEntry.state.in_(("waiting", "offered"))
    ).order_by(WaitlistEntry.start_at, WaitlistEntry.id)


def entries_of(user: User) -> list[WaitlistEntry]:
    return list(db.session.scalars(open_entries(user)))
