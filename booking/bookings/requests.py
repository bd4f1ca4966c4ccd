"""Booking requests and their life: create (checked against every rule, the slot held by the
database), approve, reject, cancel, expire, and the lists of them. Workflows flush, never
commit: the route (or CLI command) commits once."""
from datetime import UTC, datetime
from types import SimpleNamespace

from sqlalchemy import Select, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import selectinload

from booking.accounts.models import User
from booking.billing.pricing import NoRate, late_cancellation_fee_fen, quote_booking
from booking.bookings import notifications, rules
from booking.bookings.calendar import booking_problems, policy_for, slot_holder
from booking.bookings.models import Booking
from booking.bookings.qualifications import is_qualified
from booking.bookings.signals import slot_freed
from booking.core import audit
from booking.core.clock import now_utc, to_local
from booking.core.db import take_write_lock
from booking.core.notifications import deliver
from booking.core.problems import Problem, Refused, _l
from booking.core.reads import attach_loaded
from booking.core.writes import insert_returning
from booking.extensions import db
from booking.groups import services as groups
from booking.groups.models import Project
from booking.instruments.models import Instrument


class BookingRefused(Refused):
    """The request breaks one or more booking rules (all of them are listed)."""


class BookingClash(BookingRefused):
    """Another occupying booking already holds (part of) the slot: the database refused it."""

    conflicts = frozenset({"booking_clash", "own_booking_clash"})


class ReasonRequired(Refused):
    """Rejecting a request needs a reason for the requester."""

    def __init__(self):
        super().__init__(Problem("reason_required", _l(
            "Rejecting needs a reason for the requester.")))


class ScheduledByLab(Refused):
    """The customer of a test order tried to move or cancel the time the lab scheduled for it
    (the order's invoice pays it): only the lab changes it."""

    status = 403

    def __init__(self):
        super().__init__(Problem("scheduled_by_lab", _l(
            "The lab scheduled this time for a test order: ask the lab to move or cancel it.")))


class CancelReasonRequired(Refused):
    """Cancelling someone else's booking needs a reason for them (they are told it)."""

    def __init__(self):
        super().__init__(Problem("reason_required", _l(
            "Cancelling someone else's booking needs a reason for them.")))


# --- creating a booking ------------------------------------------------------------------------
def _is_overlap(error: DBAPIError) -> bool:
    """The database's no-overlap guard refused the write: the trigger (SQLite), the exclusion
    constraint (PostgreSQL, 23P01), or a deadlock of two overlapping writes each waiting on the
    other's constraint check, which PostgreSQL breaks by refusing one of them (40P01)."""
    refusal = error.orig
    sqlstate = getattr(refusal, "sqlstate", None)
    if sqlstate == "40P01":
        return "exclusion constraint" in (getattr(refusal.diag, "context", None) or "")
    return sqlstate == "23P01" or "booking_overlap" in str(refusal)


def _insert(values: dict, timezone: str) -> Booking:
    """Write the booking, the transaction's first write; the database's no-overlap guard may
    refuse it, and the transaction is then rolled back (no savepoint: two round trips less).
    An INSERT ... RETURNING every column straight to the driver (core.writes), the row then
    joining the session as a loaded object: the ORM's insert took five times as long, and on
    SQLite all of it is spent holding the database's write lock, which the other bookings
    queue for."""
    try:
        row = insert_returning(db.session, Booking.__table__, values)
    except DBAPIError as error:
        db.session.rollback()
        if _is_overlap(error):
            holder = slot_holder(values["instrument_id"], values["start_at"], values["end_at"],
                                 user_id=values["user_id"])
            raise BookingClash(rules.clash_problem(holder, now_utc(), timezone)) from error
        raise
    return attach_loaded(db.session, Booking, row)


def create_booking(instrument: Instrument, user: User, *, start: datetime, end: datetime,
                   mode: str, purpose: str, samples: int = 0,
                   calendar: rules.OpeningCalendar | None = None,
                   holds: tuple | None = None, project: Project | None = None,
                   fee_fen: int = 0, booked_by: User | None = None) -> Booking:
    """Check every rule, then hold the slot: pending when the instrument wants approval, or
    while the PI of the charged project's group decides (导师审批; the lab hears of it after).
    `samples`: how many samples a staff-operated (送样) booking hands in (0 when self-operated);
    `calendar`, `holds`: calendar.instrument_for_booking's facts, when already read;
    `project`: the project account (经费卡) charged, with the quoted `fee_fen` it holds;
    `booked_by`: the lab member booking for the person (on_behalf): the lab vouches for them
    (calendar.booker_for) and its booking stands at once, unless a PI must decide first."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)  # as stored, and as answered
    problems = booking_problems(instrument, user, start=start, end=end, mode=mode,
                                samples=samples, calendar=calendar, holds=holds,
                                vouched=booked_by is not None)
    charge = groups.Charge([], False)
    if project is not None:
        charge = groups.check_charge(
            project, user, instrument_id=instrument.id, category=instrument.category or "",
            fee_fen=fee_fen, day=to_local(start, instrument.timezone).date())
        problems += charge.problems
    to_pi = charge.to_pi
    if problems:
        raise BookingRefused(problems)
    automatic = (not instrument.requires_approval or booked_by is not None) and not to_pi
    # composed before the write lock, which other bookings wait for: only the INSERTs hold it
    planned = SimpleNamespace(instrument=instrument, user=user, start_at=start, end_at=end,
                              decision_reason="", purpose=purpose)
    notices = [] if to_pi else notifications.booking_approved_notices(
        planned, booked_by_lab=booked_by is not None) if automatic \
        else notifications.booking_requested_notices(planned)
    take_write_lock(db.session)
    now = now_utc()
    booking = _insert(dict(
        instrument_id=instrument.id, user_id=user.id, organisation_id=user.organisation_id,
        start_at=start, end_at=end, mode=mode, purpose=purpose, sample_count=samples,
        project_id=project.id if project is not None else None,
        state="approved" if automatic else "pending", created_at=now, updated_at=now,
        decided_at=now if automatic else None,
        decided_by_id=booked_by.id if automatic and booked_by is not None else None),
        instrument.timezone)
    audit.record("booking.approved" if automatic else "booking.requested",
                 actor=booked_by or user,
                 obj=booking, start=start.isoformat(), end=end.isoformat(), mode=mode,
                 samples=samples, project=booking.project_id)
    if project is not None:
        groups.hold(project, booking_id=booking.id, fee_fen=fee_fen, instrument_id=instrument.id,
                    category=instrument.category or "",
                    description=hold_description(instrument, start))
    if to_pi:
        groups.ask_pi(project, user, booking_id=booking.id, fee_fen=fee_fen,
                      over_budget=charge.exceeds("over_budget"),
                      summary=notifications.summary_for_pi(
                          booking, project.group.pi, over_limit=charge.exceeds("over_limit")))
    deliver(notices)
    return booking


def default_charge(instrument: Instrument, user: User, start: datetime, end: datetime,
                   mode: str, samples: int) -> tuple[Project | None, int]:
    """The user's default project account (经费卡) and the fee it would hold for the booking:
    what a booking made without a form to choose on (a wait-list offer taken, the lab booking
    for someone) is charged to. (None, 0) for a user without one."""
    project = groups.get_project(groups.default_project_id(user))
    if project is None:
        return None, 0
    return project, quoted_fee(instrument, user, start, end, mode, samples)


def quoted_fee(instrument: Instrument, user: User, start: datetime, end: datetime, mode: str,
               samples: int) -> int:
    """The fee a project holds for the booking (0 where no rate is set for the user)."""
    try:
        return quote_booking(instrument, user, start, end, mode, samples).fee_fen
    except NoRate:
        return 0


def hold_description(instrument: Instrument, start: datetime) -> str:
    """A hold's line in the project's ledger: the instrument and the booking's local day."""
    return f"{instrument.name_zh} {to_local(start, instrument.timezone):%Y-%m-%d}"


def hold_at_current_fee(booking: Booking) -> tuple[int, "groups.Charge"]:
    """What the booking's project holds for it, and the request its PI has yet to decide, at
    what its time costs now (it moved, or the lab changed the rate): (fee, the project's
    verdict on it, which the caller may refuse the change for)."""
    project = groups.get_project(booking.project_id)
    instrument = booking.instrument
    fee = quoted_fee(instrument, booking.user, booking.start_at, booking.end_at, booking.mode,
                     booking.sample_count)
    groups.release_holds([booking.id])
    charge = groups.check_charge(
        project, booking.user, instrument_id=instrument.id, category=instrument.category or "",
        fee_fen=fee, day=to_local(booking.start_at, instrument.timezone).date())
    groups.hold(project, booking_id=booking.id, fee_fen=fee, instrument_id=instrument.id,
                category=instrument.category or "",
                description=hold_description(instrument, booking.start_at))
    groups.refresh_approval(booking.id, fee_fen=fee, over_budget=charge.exceeds("over_budget"),
                            summary=notifications.summary_for_pi(
                                booking, project.group.pi,
                                over_limit=charge.exceeds("over_limit")))
    return fee, charge


def follow_pi_decision(booking_id: int, approved: bool | None, actor: User | None,
                       reason: str = "", **_extra) -> None:
    """Receiver of groups' `pi_decided`: approved, the request goes on to the lab as today
    (or is confirmed where the instrument needs no approval); rejected or lapsed, it ends."""
    booking = db.session.get(Booking, booking_id)
    if booking is None or booking.state != "pending":
        return
    if approved:
        if booking.instrument.requires_approval:
            notifications.notify_booking_requested(booking)
        else:
            approve_booking(booking, actor)
    elif approved is False:
        reject_booking(booking, actor, reason)
    else:
        move_booking(booking, "expired", None, reason="pi_timeout")
        notifications.notify_booking_expired(booking)


# --- transitions -------------------------------------------------------------------------------
def move_booking(booking: Booking, target: str, actor: User | None, **data) -> None:
    """The one way a booking changes state: checked against the state machine, audited.
    Metering uses it for check-in (in_use), check-out (completed) and no-shows."""
    rules.check_transition(booking.state, target)
    before = booking.state
    booking.state = target
    booking.sequence += 1
    booking.updated_at = now_utc()
    if target == "cancelled":
        booking.cancelled_by_id = getattr(actor, "id", None)
    audit.record(f"booking.{target}", actor=actor, obj=booking, before=before, **data)
    if booking.project_id is not None and target in ("cancelled", "rejected", "expired"):
        groups.release_holds([booking.id])  # a late cancellation's charge comes by invoice
    if booking.project_id is not None and before == "pending":
        groups.withdraw_approval(booking.id)  # decided before its PI did: nothing left to ask
    if before in rules.OCCUPYING_STATES and target not in rules.OCCUPYING_STATES:
        slot_freed.send(booking.instrument_id, start=booking.start_at, end=booking.end_at)


class AwaitingPi(Refused):
    """The lab tried to decide a request its PI has not approved yet."""

    status = 409

    def __init__(self):
        super().__init__(Problem("awaiting_pi", _l(
            "This request is waiting for the requester's PI: the lab decides once the PI has "
            "approved it.")))


def _lab_may_decide(booking: Booking) -> None:
    if groups.awaiting_pi([booking.id]):  # decided by the PI, it is no longer awaited
        raise AwaitingPi()


class NoLongerQualified(Refused):
    """A self-operated request whose booker lost the instrument's qualification since."""

    status = 409

    def __init__(self, name: str):
        super().__init__(Problem("qualification_required", _l(
            "%(name)s is no longer qualified to operate this instrument: reject the request, "
            "or grant the qualification again first."), {"name": name}))


def approve_booking(booking: Booking, actor: User, *, tell: bool = True) -> None:
    """`tell`: notify the booker (a series decided as one tells them once, for all). A
    self-operated request needs the booker still qualified (withdrawn since the request)."""
    if booking.state != "pending":  # a no-show may become approved, but only as withdrawn
        raise rules.CannotApprove(booking.state)
    _lab_may_decide(booking)
    if booking.mode == "self_operated" and booking.instrument.requires_qualification:
        if not is_qualified(booking.instrument, booking.user):
            raise NoLongerQualified(booking.user.name)
    move_booking(booking, "approved", actor)
    booking.decided_by = actor
    booking.decided_at = now_utc()
    if tell:
        notifications.notify_booking_approved(booking)


def reject_booking(booking: Booking, actor: User, reason: str, *, tell: bool = True) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired()
    _lab_may_decide(booking)
    move_booking(booking, "rejected", actor, reason=reason)
    booking.decided_by = actor
    booking.decided_at = now_utc()
    booking.decision_reason = reason[:500]
    if tell:
        notifications.notify_booking_rejected(booking)


def decide_bookings(bookings: list[Booking], actor: User, *, approve: bool, reason: str = ""
                    ) -> int:
    """Approve or reject several pending requests at once; returns how many were decided."""
    if not approve and not reason.strip():
        raise ReasonRequired()
    for booking in bookings:
        if approve:
            approve_booking(booking, actor)
        else:
            reject_booking(booking, actor, reason)
    return len(bookings)


def cancelling_is_late(booking: Booking, now: datetime) -> bool:
    """Whether cancelling the booking at `now` is a late cancellation (billing may charge)."""
    return booking.state == "approved" and rules.is_late_cancellation(
        policy_for(booking.instrument), booking.start_at, now)


def cancel_booking(booking: Booking, actor: User, reason: str = "") -> None:
    """Free before the instrument's deadline; afterwards flagged late (billing may charge).
    The lab cancelling is never the booker's late cancellation, and it says why."""
    if not booking.can_change(actor):
        raise ScheduledByLab()
    if booking.state not in rules.CANCELLABLE_STATES:  # a no-show is withdrawn, not cancelled
        raise rules.CannotCancel(booking.state)
    if actor.id != booking.user_id and not reason.strip():
        raise CancelReasonRequired()
    now = now_utc()
    late = actor.id == booking.user_id and cancelling_is_late(booking, now)
    move_booking(booking, "cancelled", actor, late=late, reason=reason)
    booking.cancelled_at = now
    booking.late_cancel = late
    if late and booking.project_id is not None:
        _hold_late_fee(booking)
    if actor.id != booking.user_id:
        booking.decision_reason = reason[:500]
        notifications.notify_booking_cancelled(booking)


def _hold_late_fee(booking: Booking) -> None:
    """The project keeps holding what the late cancellation will be charged, until the month
    close's invoice charges it (else its budget and limits showed that much more left)."""
    fee = late_cancellation_fee_fen(booking)
    if fee:
        instrument = booking.instrument
        groups.hold(groups.get_project(booking.project_id), booking_id=booking.id, fee_fen=fee,
                    instrument_id=instrument.id, category=instrument.category or "",
                    description=hold_description(instrument, booking.start_at))


def expire_pending(now: datetime | None = None) -> int:
    """Pending requests left undecided past their instrument's approval timeout expire."""
    now = now or now_utc()
    candidates = db.session.scalars(select(Booking).where(Booking.state == "pending")
                                    .order_by(Booking.id)).all()
    expired, of_series = 0, {}
    # a request waiting for its PI has the PI's own timeout; once the PI approved, the lab's
    # time counts from then
    waiting = groups.awaiting_pi([b.id for b in candidates])
    approved_at = groups.pi_approved_at([b.id for b in candidates])
    for booking in candidates:
        if booking.id in waiting:
            continue
        asked = max(booking.created_at, approved_at.get(booking.id, booking.created_at))
        deadline = rules.approval_deadline(policy_for(booking.instrument), asked)
        if deadline <= now or booking.start_at <= now:
            move_booking(booking, "expired", None, deadline=deadline.isoformat())
            if booking.series_id is None:
                notifications.notify_booking_expired(booking)
            else:  # a recurring series is told once, for all its occurrences that expired
                of_series.setdefault(booking.series_id, []).append(booking)
            expired += 1
    for bookings in of_series.values():
        notifications.notify_series_expired(bookings[0].series, bookings)
    return expired


# --- lists -------------------------------------------------------------------------------------
def _pending_for(manager: User) -> Select:
    """Pending requests on instruments of the organisations the user manages, oldest first."""
    query = select(Booking).join(Booking.instrument).where(
        Booking.state == "pending", ~groups.awaiting_pi_clause(Booking.id)).options(
        selectinload(Booking.instrument), selectinload(Booking.user),
        selectinload(Booking.organisation))
    if not manager.is_admin:
        query = query.where(Instrument.organisation_id.in_(manager.managed_organisation_ids()))
    return query.order_by(Booking.created_at, Booking.id)


def approval_queue(manager: User) -> list[Booking]:
    return list(db.session.scalars(_pending_for(manager)))


def pending_for_ids(manager: User, ids: list[int]) -> list[Booking]:
    """The requests among `ids` that the manager may decide (others are ignored)."""
    return list(db.session.scalars(_pending_for(manager).where(Booking.id.in_(ids))))


def listable_bookings(user: User, *, mine: bool, state: str | None = None) -> Select:
    """The bookings `user` may list, newest first: their own (mine), or those of the
    instruments of the organisations they manage (all of them for admins)."""
    query = select(Booking)
    if mine:
        query = query.where(Booking.user_id == user.id)
    elif not user.is_admin:
        query = query.join(Booking.instrument).where(
            Instrument.organisation_id.in_(user.managed_organisation_ids()))
    if state is not None:
        query = query.where(Booking.state == state)
    return query.order_by(Booking.start_at.desc(), Booking.id.desc())
