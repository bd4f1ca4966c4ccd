"""Moving a booking to another time: the same rules as a new request, the slot held by the
database, in one transaction, audited. When the booker moves an approved booking of an
instrument that wants approval, the lab decides again; a move by the lab stands."""
from datetime import UTC, datetime

from sqlalchemy.exc import DBAPIError

from booking.accounts.models import User
from booking.bookings import notifications, requests, rules
from booking.bookings.calendar import booking_problems, slot_holder
from booking.bookings.models import Booking
from booking.bookings.requests import (
    BookingClash,
    BookingRefused,
    ScheduledByLab,
    _is_overlap,
    move_booking,
)
from booking.core import audit
from booking.core.clock import now_utc
from booking.core.db import take_write_lock
from booking.core.problems import Problem, _l
from booking.extensions import db
from booking.groups import services as groups


def too_late_to_move(booking: Booking, actor: User, now: datetime) -> Problem | None:
    """The booker moves an approved booking only before the free-cancellation deadline: a
    move frees the slot as a cancellation does, so inside it only cancelling (with its late
    fee) is left. The lab may still move it, and so may the booker where a late cancellation
    costs nothing."""
    if actor.id != booking.user_id or not booking.instrument.late_cancel_fraction or \
            not requests.cancelling_is_late(booking, now):
        return None
    return Problem("move_too_late", _l(
        "It is less than %(hours)d hours before the start: the booking can no longer be "
        "moved, only cancelled (the late-cancellation fee applies). The lab can still move "
        "it."), {"hours": booking.instrument.cancel_deadline_hours})


def reschedule(booking: Booking, actor: User, *, start: datetime, end: datetime) -> Booking:
    if not booking.can_change(actor):
        raise ScheduledByLab()
    if booking.state not in rules.MOVABLE_STATES:
        raise BookingRefused(Problem("not_movable", _l(
            "Only a pending or approved booking can be moved.")))
    late = too_late_to_move(booking, actor, now_utc())
    if late:
        raise BookingRefused(late)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if (start, end) == (booking.start_at, booking.end_at):
        raise BookingRefused(Problem("same_time", _l("Pick a different time to move to.")))
    instrument = booking.instrument
    problems = booking_problems(instrument, booking.user, start=start, end=end,
                                mode=booking.mode, samples=booking.sample_count)
    if problems:
        raise BookingRefused(problems)
    awaiting_pi = booking.project_id is not None and bool(groups.awaiting_pi([booking.id]))
    take_write_lock(db.session)
    before = booking.start_at, booking.end_at
    booking.start_at, booking.end_at = start, end
    booking.sequence += 1  # calendar apps see the change
    _hold(booking, start, end, instrument.timezone)
    if booking.project_id is not None:
        _recharge(booking, awaiting_pi)
    by_lab = actor.id != booking.user_id
    # what the move resets is kept in its audit event: the booking's history shows it
    kept = {"requested_at": booking.created_at.isoformat()}
    if booking.state == "approved" and instrument.requires_approval and not by_lab:
        if booking.decided_at is not None:
            kept |= {"approved_at": booking.decided_at.isoformat(),
                     "approved_by": booking.decided_by_id}
        move_booking(booking, "pending", actor)
        booking.decided_by, booking.decided_at = None, None
    if booking.state == "pending":
        booking.created_at = now_utc()  # a moved request waits afresh for the lab
    audit.record("booking.rescheduled", actor=actor, obj=booking,
                 before_start=before[0].isoformat(), before_end=before[1].isoformat(),
                 start=start.isoformat(), end=end.isoformat(), **kept)
    if booking.state == "pending" and not awaiting_pi:  # the lab sees it once the PI agrees
        notifications.notify_booking_requested(booking)
    if by_lab:
        notifications.notify_booking_moved(booking, before)
    return booking


def _hold(booking: Booking, start: datetime, end: datetime, timezone: str) -> None:
    """Write the new times: the database's no-overlap guard may refuse them (rolled back)."""
    instrument_id = booking.instrument_id
    try:
        db.session.flush()
    except DBAPIError as error:
        db.session.rollback()
        if _is_overlap(error):
            holder = slot_holder(instrument_id, start, end, user_id=booking.user_id)
            raise BookingClash(rules.clash_problem(holder, now_utc(), timezone)) from error
        raise


def _recharge(booking: Booking, awaiting_pi: bool) -> None:
    """A booking charged to a project holds its fee at the new time instead of the old one,
    under the project's rules as a new request would be. A request its PI has yet to decide
    is shown to the PI as it now is; a higher fee the PI would have to approve anew is
    refused (the PI approved the old one): the booker books the new time instead. (A refusal
    rolls back the hold written meanwhile.)"""
    old_fee = groups.held_fee(booking.id)
    fee, charge = requests.hold_at_current_fee(booking)
    if charge.problems:
        raise BookingRefused(charge.problems)
    if charge.to_pi and not awaiting_pi and fee > old_fee:
        raise BookingRefused(Problem("move_needs_pi", _l(
            "At the new time the fee is higher, and your PI would have to approve it: book the "
            "new time as a new request instead.")))
