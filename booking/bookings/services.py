"""Booking workflows: load, apply the rules, write, audit, queue notifications. They flush,
never commit: the route (or CLI command) commits once."""
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import (
    Date,
    Integer,
    String,
    Time,
    and_,
    bindparam,
    cast,
    insert,
    literal_column,
    null,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from booking.accounts.models import Role, User
from booking.bookings import rules
from booking.bookings.models import MAX_LENGTH, Booking, FeedToken, TrainingRequest
from booking.core import audit
from booking.core.clock import from_local, now_utc, to_local
from booking.core.db import UTCDateTime, read_all, take_write_lock
from booking.core.notifications import queue_message
from booking.extensions import db
from booking.instruments.models import Blackout, Instrument, OpeningException, OpeningHours, Qualification


class BookingRefused(Exception):
    """The request breaks one or more booking rules (all of them are listed)."""

    def __init__(self, problems: list[rules.Problem]):
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


class BookingClash(Exception):
    """Another occupying booking already holds (part of) the slot: the database refused it."""


class ReasonRequired(ValueError):
    """Rejecting a request needs a reason for the requester."""


# --- loading the facts the rules need ----------------------------------------------------------
def policy_for(instrument: "Instrument | CalendarInstrument") -> rules.Policy:
    return rules.Policy(
        timezone=instrument.timezone, slot_minutes=instrument.slot_minutes,
        min_minutes=instrument.min_minutes, max_minutes=instrument.max_minutes,
        lead_minutes=instrument.lead_minutes, max_days_ahead=instrument.max_days_ahead,
        cancel_deadline_hours=instrument.cancel_deadline_hours,
        approval_timeout_hours=instrument.approval_timeout_hours, status=instrument.status,
        is_public=instrument.is_public, allows_self_operated=instrument.allows_self_operated,
        allows_staff_operated=instrument.allows_staff_operated,
        requires_qualification=instrument.requires_qualification)


# The calendar is the hottest read of the site, and on PostgreSQL every statement is a network
# round trip: the instrument and all its calendar shows (weekly hours, opening exceptions,
# blackouts, bookings) come back from ONE statement, the instrument's row joined to a UNION ALL
# of plain Core selects tagged by kind. The statements are built once, with bound parameters,
# so SQLAlchemy reuses the compiled SQL. The booking rules read the same union, less bookings.
_hours, _exceptions = OpeningHours.__table__.c, OpeningException.__table__.c
_blackouts, _bookings, _instruments = Blackout.__table__.c, Booking.__table__.c, Instrument.__table__.c
_ROW_TYPES = {"weekday": Integer(), "day": Date(), "opens": Time(), "closes": Time(),
              "id": Integer(), "user_id": Integer(), "state": String(), "start_at": UTCDateTime(),
              "end_at": UTCDateTime()}


def _tagged(kind: str, source, **columns):
    """One arm of the union: the kind, then every column of _ROW_TYPES (NULL where absent)."""
    return select(literal_column(f"'{kind}'").label("kind"), *(
        columns[name].label(name) if name in columns else cast(null(), type_).label(name)
        for name, type_ in _ROW_TYPES.items())).select_from(source)


_HOURS = _tagged("hours", OpeningHours.__table__, weekday=_hours.weekday, opens=_hours.opens,
                 closes=_hours.closes).where(_hours.instrument_id == bindparam("instrument_id"))
_EXCEPTIONS = _tagged("exception", OpeningException.__table__, day=_exceptions.day,
                      opens=_exceptions.opens, closes=_exceptions.closes).where(
    _exceptions.instrument_id == bindparam("instrument_id"),
    _exceptions.day.between(bindparam("first"), bindparam("last")))
_BLACKOUTS = _tagged("blackout", Blackout.__table__, start_at=_blackouts.start_at,
                     end_at=_blackouts.end_at).where(
    _blackouts.instrument_id == bindparam("instrument_id"),
    _blackouts.start_at < bindparam("end", type_=UTCDateTime),
    _blackouts.end_at > bindparam("start", type_=UTCDateTime))
_SHOWN = _tagged("booking", Booking.__table__, id=_bookings.id, user_id=_bookings.user_id,
                 state=_bookings.state, start_at=_bookings.start_at,
                 end_at=_bookings.end_at).where(
    _bookings.instrument_id == bindparam("instrument_id"),
    _bookings.state.in_([literal_column(f"'{state}'")  # constants in the SQL: no expanding
                         for state in (*rules.OCCUPYING_STATES, "completed")]),
    _bookings.start_at < bindparam("end", type_=UTCDateTime),
    _bookings.start_at > bindparam("earliest", type_=UTCDateTime),
    _bookings.end_at > bindparam("start", type_=UTCDateTime))
_OPENING = union_all(_HOURS, _EXCEPTIONS, _BLACKOUTS)


class CalendarInstrument(NamedTuple):
    """The columns of an instrument its calendar needs (policy_for and can_view_instrument
    accept it in place of the ORM object)."""

    id: int
    organisation_id: int
    timezone: str
    status: str
    is_public: bool
    slot_minutes: int
    min_minutes: int
    max_minutes: int
    lead_minutes: int
    max_days_ahead: int
    cancel_deadline_hours: int
    approval_timeout_hours: int
    allows_self_operated: bool
    allows_staff_operated: bool
    requires_qualification: bool
    calendar_version: int

    @property
    def is_listed(self) -> bool:
        return self.is_public and self.status != "retired"


_CALENDAR_ROWS = union_all(_HOURS, _EXCEPTIONS, _BLACKOUTS, _SHOWN).subquery("calendar_rows")
_CALENDAR = select(*(_instruments[name] for name in CalendarInstrument._fields),
                   *_CALENDAR_ROWS.c).select_from(
    Instrument.__table__.outerjoin(_CALENDAR_ROWS, true())).where(
    _instruments.id == bindparam("instrument_id")).order_by(_CALENDAR_ROWS.c.start_at)


MAX_UTC_OFFSET = timedelta(hours=14)  # no timezone is further from UTC (Kiribati: UTC+14)


def _window(instrument_id: int, start: datetime, end: datetime, timezone: str) -> dict:
    return {"instrument_id": instrument_id, "start": start, "end": end,
            "earliest": start - MAX_LENGTH, "first": to_local(start, timezone).date(),
            "last": to_local(end, timezone).date()}


def _by_kind(rows) -> dict[str, list]:
    by_kind = {"hours": [], "exception": [], "blackout": [], "booking": [], None: []}
    for row in rows:
        by_kind[row.kind].append(row)
    return by_kind


def _widened(instrument_id: int, start: datetime, end: datetime) -> dict:
    """Parameters for a window around [start, end) that is wide enough whatever the instrument's
    timezone (naive moments are wall clock there), for statements that read the instrument's
    row too: rows outside [start, end) are then cut off by _cut."""
    guess = [m if m.tzinfo else m.replace(tzinfo=UTC) for m in (start, end)]
    return _window(instrument_id, guess[0] - MAX_UTC_OFFSET, guess[1] + MAX_UTC_OFFSET, "UTC")


def _cut(by_kind: dict[str, list], start: datetime, end: datetime) -> dict[str, list]:
    for kind in ("blackout", "booking"):
        by_kind[kind] = [r for r in by_kind[kind] if r.start_at < end and r.end_at > start]
    return by_kind


def _opening_calendar(timezone: str, rows: dict[str, list]) -> rules.OpeningCalendar:
    return rules.OpeningCalendar(
        timezone=timezone,
        weekly=tuple(rules.WeeklyHours(r.weekday, r.opens, r.closes) for r in rows["hours"]),
        exceptions={r.day: (r.opens, r.closes) if r.opens else None for r in rows["exception"]},
        blackouts=tuple((r.start_at, r.end_at) for r in rows["blackout"]))


def opening_calendar(instrument: Instrument, start: datetime, end: datetime
                     ) -> rules.OpeningCalendar:
    """Weekly hours, and the exceptions and blackouts that touch [start, end): one query."""
    rows = db.session.connection().execute(
        _OPENING, _window(instrument.id, start, end, instrument.timezone))
    return _opening_calendar(instrument.timezone, _by_kind(rows))


_OPENING_ROWS = _OPENING.subquery("opening_rows")
_INSTRUMENT_AND_OPENING = select(Instrument, *_OPENING_ROWS.c).outerjoin(
    _OPENING_ROWS, true()).where(Instrument.id == bindparam("instrument_id"))


def instrument_for_booking(instrument_id: int, start: datetime, end: datetime
                           ) -> tuple[Instrument, rules.OpeningCalendar] | None:
    """The instrument and its opening calendar for [start, end) (aware) in one statement, what
    create_booking checks the rules against: the booking API's hot path."""
    rows = db.session.execute(_INSTRUMENT_AND_OPENING, _widened(instrument_id, start, end)).all()
    if not rows:
        return None
    instrument = rows[0][0]
    return instrument, _opening_calendar(instrument.timezone, _cut(_by_kind(rows), start, end))


def bookings_between(instrument: Instrument, start: datetime, end: datetime,
                     states=rules.OCCUPYING_STATES) -> list[Booking]:
    return list(db.session.scalars(select(Booking).where(
        Booking.instrument_id == instrument.id, Booking.state.in_(states),
        Booking.overlapping(start, end)).order_by(Booking.start_at)))


def is_qualified(instrument: Instrument, user: User) -> bool:
    return active_qualification(instrument, user, now_utc()) is not None


def active_qualification(instrument: Instrument, user: User, now: datetime
                         ) -> Qualification | None:
    qualification = db.session.scalar(select(Qualification).where(
        Qualification.instrument_id == instrument.id, Qualification.user_id == user.id,
        Qualification.revoked_at.is_(None)))
    lapse = instrument.qualification_lapse_days
    if qualification is None or lapse is None:
        return qualification
    last_used = qualification.last_used_at or qualification.granted_at
    return qualification if last_used + timedelta(days=lapse) >= now else None


def booker_for(instrument: Instrument, user: User, mode: str) -> rules.Booker:
    needs_check = mode == "self_operated" and instrument.requires_qualification
    return rules.Booker(
        organisation_verified=user.organisation.verified,
        membership_confirmed=user.membership_confirmed,
        is_internal=user.organisation_id == instrument.organisation_id,
        is_qualified=needs_check and is_qualified(instrument, user))


# --- availability and quotes -------------------------------------------------------------------
def availability(instrument: Instrument, start: datetime, end: datetime
                 ) -> list[rules.Interval]:
    busy = [(b.start_at, b.end_at) for b in bookings_between(instrument, start, end)]
    return rules.availability(policy_for(instrument), opening_calendar(instrument, start, end),
                              busy, start, end, now_utc())


@dataclass
class CalendarView:
    free: list[rules.Interval]
    others: list[rules.Interval]  # anonymous busy blocks
    own: list  # rows with id, state, start_at, end_at
    blackouts: tuple[rules.Interval, ...]


_CALENDAR_VERSION = select(_instruments.calendar_version).where(
    _instruments.id == bindparam("instrument_id"))


def calendar_version(instrument_id: int) -> int | None:
    """The instrument's calendar_version (None when there is no such instrument)."""
    rows = read_all(db.session, _CALENDAR_VERSION, {"instrument_id": instrument_id})
    return rows[0][0] if rows else None


def calendar_view(instrument_id: int, viewer: User | None, start: datetime, end: datetime,
                  now: datetime | None = None
                  ) -> tuple[CalendarInstrument, CalendarView] | None:
    """The instrument and everything its calendar shows for [start, end) at `now`, from one
    statement (plain column rows, no ORM objects). Naive start and end are wall-clock time at
    the instrument, whose timezone is only known once its row is read; so the statement reads
    a window widened by the largest UTC offset, cut to the exact range here."""
    rows = read_all(db.session, _CALENDAR, _widened(instrument_id, start, end))
    if not rows:
        return None
    instrument = CalendarInstrument(*rows[0][:len(CalendarInstrument._fields)])
    start, end = (from_local(m, instrument.timezone) for m in (start, end))
    by_kind = _cut(_by_kind(rows), start, end)
    calendar = _opening_calendar(instrument.timezone, by_kind)
    shown = by_kind["booking"]
    busy = [(b.start_at, b.end_at) for b in shown if b.state in rules.OCCUPYING_STATES]
    free = rules.availability(policy_for(instrument), calendar, busy, start, end,
                              now or now_utc())
    viewer_id = viewer.id if viewer is not None and viewer.is_authenticated else None
    return instrument, CalendarView(
        free=free, others=[(b.start_at, b.end_at) for b in shown if b.user_id != viewer_id],
        own=[b for b in shown if b.user_id == viewer_id], blackouts=calendar.blackouts)


def booking_problems(instrument: Instrument, user: User, *, start: datetime, end: datetime,
                     mode: str, samples: int = 0,
                     calendar: rules.OpeningCalendar | None = None) -> list[rules.Problem]:
    calendar = calendar or opening_calendar(instrument, start, end)
    return rules.check_booking(policy_for(instrument), calendar,
                               booker_for(instrument, user, mode), start=start, end=end,
                               mode=mode, now=now_utc()) + rules.sample_problems(mode, samples)


# --- creating a booking ------------------------------------------------------------------------
def _is_overlap(error: IntegrityError) -> bool:
    return getattr(error.orig, "sqlstate", None) == "23P01" or "booking_overlap" in str(error.orig)


def _insert(values: dict) -> Booking:
    """Write the booking, the transaction's first write; the database's no-overlap guard may
    refuse it, and the transaction is then rolled back (no savepoint: two round trips less).
    One INSERT ... RETURNING loads the new row: no unit-of-work flush around it."""
    try:
        return db.session.scalars(_INSERT_BOOKING, [values]).one()
    except IntegrityError as error:
        db.session.rollback()
        if _is_overlap(error):
            raise BookingClash() from error
        raise


_INSERT_BOOKING = insert(Booking).returning(Booking)


def create_booking(instrument: Instrument, user: User, *, start: datetime, end: datetime,
                   mode: str, purpose: str, samples: int = 0,
                   calendar: rules.OpeningCalendar | None = None) -> Booking:
    """Check every rule, then hold the slot: pending when the instrument wants approval.
    `samples`: how many samples a staff-operated (送样) booking hands in (0 when self-operated);
    `calendar`: the instrument's opening calendar for the slot, when already loaded."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)  # as stored, and as answered
    problems = booking_problems(instrument, user, start=start, end=end, mode=mode,
                                samples=samples, calendar=calendar)
    if problems:
        raise BookingRefused(problems)
    take_write_lock(db.session)
    now = now_utc()
    automatic = not instrument.requires_approval
    booking = _insert(dict(
        instrument_id=instrument.id, user_id=user.id, organisation_id=user.organisation_id,
        start_at=start, end_at=end, mode=mode, purpose=purpose, sample_count=samples,
        state="approved" if automatic else "pending", created_at=now, updated_at=now,
        decided_at=now if automatic else None))
    audit.record("booking.approved" if automatic else "booking.requested", actor=user,
                 obj=booking, start=start.isoformat(), end=end.isoformat(), mode=mode,
                 samples=samples)
    if automatic:
        _notify_booker(booking, "booking.approved")
    else:
        _notify_managers(booking)
    return booking


# --- transitions -------------------------------------------------------------------------------
def move_booking(booking: Booking, target: str, actor: User | None, **data) -> None:
    """The one way a booking changes state: checked against the state machine, audited.
    Metering uses it for check-in (in_use), check-out (completed) and no-shows."""
    rules.check_transition(booking.state, target)
    before = booking.state
    booking.state = target
    booking.sequence += 1
    booking.updated_at = now_utc()
    audit.record(f"booking.{target}", actor=actor, obj=booking, before=before, **data)


def approve_booking(booking: Booking, actor: User) -> None:
    move_booking(booking, "approved", actor)
    booking.decided_by = actor
    booking.decided_at = now_utc()
    _notify_booker(booking, "booking.approved")


def reject_booking(booking: Booking, actor: User, reason: str) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired()
    move_booking(booking, "rejected", actor, reason=reason)
    booking.decided_by = actor
    booking.decided_at = now_utc()
    booking.decision_reason = reason[:500]
    _notify_booker(booking, "booking.rejected")


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


def cancel_booking(booking: Booking, actor: User, reason: str = "") -> None:
    """Free before the instrument's deadline; afterwards flagged late (billing may charge)."""
    now = now_utc()
    late = (booking.state == "approved" and
            rules.is_late_cancellation(policy_for(booking.instrument), booking.start_at, now))
    move_booking(booking, "cancelled", actor, late=late, reason=reason)
    booking.cancelled_at = now
    booking.late_cancel = late
    if actor.id != booking.user_id:
        booking.decision_reason = reason[:500]
        _notify_booker(booking, "booking.cancelled")


def expire_pending(now: datetime | None = None) -> int:
    """Pending requests left undecided past their instrument's approval timeout expire."""
    now = now or now_utc()
    candidates = db.session.scalars(select(Booking).where(Booking.state == "pending")
                                    .order_by(Booking.id)).all()
    expired = 0
    for booking in candidates:
        deadline = rules.approval_deadline(policy_for(booking.instrument), booking.created_at)
        if deadline <= now or booking.start_at <= now:
            move_booking(booking, "expired", None, deadline=deadline.isoformat())
            _notify_booker(booking, "booking.expired")
            expired += 1
    return expired


# --- queries for pages -------------------------------------------------------------------------
def approval_queue(manager: User) -> list[Booking]:
    """Pending requests on instruments of the organisations the user manages, oldest first."""
    query = select(Booking).join(Booking.instrument).where(Booking.state == "pending").options(
        selectinload(Booking.instrument), selectinload(Booking.user),
        selectinload(Booking.organisation))
    if not manager.is_admin:
        query = query.where(Instrument.organisation_id.in_(manager.managed_organisation_ids()))
    return list(db.session.scalars(query.order_by(Booking.created_at, Booking.id)))


def open_training_requests(manager: User) -> list[TrainingRequest]:
    query = select(TrainingRequest).join(TrainingRequest.instrument).where(
        TrainingRequest.state == "open")
    if not manager.is_admin:
        query = query.where(Instrument.organisation_id.in_(manager.managed_organisation_ids()))
    return list(db.session.scalars(query.order_by(TrainingRequest.created_at)))


def bookings_of(user: User, *, upcoming: bool) -> list[Booking]:
    now = now_utc()
    query = select(Booking).where(Booking.user_id == user.id).options(
        selectinload(Booking.instrument).selectinload(Instrument.organisation))
    if upcoming:
        return list(db.session.scalars(query.where(Booking.end_at > now)
                                       .order_by(Booking.start_at)))
    return list(db.session.scalars(query.where(Booking.end_at <= now)
                                   .order_by(Booking.start_at.desc()).limit(200)))


def pending_for_ids(manager: User, ids: list[int]) -> list[Booking]:
    """The requests among `ids` that the manager may decide (others are ignored)."""
    wanted = set(ids)
    return [b for b in approval_queue(manager) if b.id in wanted]


# --- qualifications and training ---------------------------------------------------------------
def grant_qualification(instrument: Instrument, user: User, actor: User) -> Qualification:
    qualification = db.session.scalar(select(Qualification).where(
        Qualification.instrument_id == instrument.id, Qualification.user_id == user.id))
    if qualification is None:
        qualification = Qualification(instrument=instrument, user=user)
        db.session.add(qualification)
    qualification.granted_by_id = actor.id
    qualification.granted_at = now_utc()
    qualification.last_used_at = None
    qualification.revoked_at = None
    db.session.flush()
    for request in db.session.scalars(select(TrainingRequest).where(
            TrainingRequest.instrument_id == instrument.id, TrainingRequest.user_id == user.id,
            TrainingRequest.state == "open")):
        _close_training(request, actor, "granted")
    audit.record("qualification.granted", actor=actor, obj=qualification, user_id=user.id)
    _notify(user, "qualification.granted", instrument=instrument)
    return qualification


def note_qualification_used(instrument_id: int, user_id: int, at: datetime) -> None:
    """The qualification was used at `at`: its lapse counts from the latest use."""
    db.session.execute(update(Qualification).where(
        Qualification.instrument_id == instrument_id, Qualification.user_id == user_id,
        Qualification.revoked_at.is_(None),
        or_(Qualification.last_used_at.is_(None), Qualification.last_used_at < at))
        .values(last_used_at=at).execution_options(synchronize_session="fetch"))


def qualifications_of(instrument: Instrument) -> list[Qualification]:
    return list(db.session.scalars(select(Qualification).where(
        Qualification.instrument_id == instrument.id, Qualification.revoked_at.is_(None))
        .options(selectinload(Qualification.user)).order_by(Qualification.granted_at.desc())))


def revoke_qualification(qualification: Qualification, actor: User) -> None:
    if qualification.revoked_at is None:
        qualification.revoked_at = now_utc()
        audit.record("qualification.revoked", actor=actor, obj=qualification,
                     user_id=qualification.user_id)
        _notify(qualification.user, "qualification.revoked", instrument=qualification.instrument)


def request_training(instrument: Instrument, user: User, message: str) -> TrainingRequest:
    request = db.session.scalar(select(TrainingRequest).where(
        TrainingRequest.instrument_id == instrument.id, TrainingRequest.user_id == user.id,
        TrainingRequest.state == "open"))
    if request is None:
        request = TrainingRequest(instrument=instrument, user=user, message=message[:500])
        db.session.add(request)
        db.session.flush()
        audit.record("training.requested", actor=user, obj=request)
        for manager in managers_of(instrument.organisation_id):
            _notify(manager, "training.requested", instrument=instrument, requester=user)
    return request


def decline_training(request: TrainingRequest, actor: User) -> None:
    _close_training(request, actor, "declined")
    _notify(request.user, "training.declined", instrument=request.instrument)


def _close_training(request: TrainingRequest, actor: User, state: str) -> None:
    request.state = state
    request.decided_by_id = actor.id
    request.decided_at = now_utc()
    audit.record(f"training.{state}", actor=actor, obj=request)


# --- private feed tokens -----------------------------------------------------------------------
def feed_token_of(user: User) -> FeedToken | None:
    return db.session.scalar(select(FeedToken).where(FeedToken.user_id == user.id))


def reset_feed_token(user: User) -> FeedToken:
    """Create the user's private feed address, or replace it (the old one stops working)."""
    token = feed_token_of(user)
    if token is None:
        token = FeedToken(user=user, token=FeedToken.generate())
        db.session.add(token)
    else:
        token.token = FeedToken.generate()
    db.session.flush()
    audit.record("feed_token.reset", actor=user, obj=token)
    return token


def user_for_feed_token(raw: str) -> User | None:
    token = db.session.scalar(select(FeedToken).where(FeedToken.token == raw))
    return token.user if token is not None and token.user.active else None


def feed_bookings(user: User) -> list[Booking]:
    """A user's bookings from 90 days ago on, for the private feed (cancelled ones included)."""
    since = now_utc() - timedelta(days=90)
    return list(db.session.scalars(select(Booking).where(
        Booking.user_id == user.id, Booking.end_at > since).order_by(Booking.start_at)
        .options(selectinload(Booking.instrument))))


def public_feed_bookings(instrument: Instrument) -> list[Booking]:
    since = now_utc() - timedelta(days=30)
    return list(db.session.scalars(select(Booking).where(
        Booking.instrument_id == instrument.id, Booking.end_at > since,
        Booking.state.in_((*rules.OCCUPYING_STATES, "completed"))).order_by(Booking.start_at)))


# --- notifications -----------------------------------------------------------------------------
def managers_of(organisation_id: int) -> list[User]:
    return list(db.session.scalars(select(User).join(Role).where(and_(
        Role.organisation_id == organisation_id, Role.name == "lab_manager",
        User.active.is_(True)))))


def _when(booking: Booking, user: User) -> str:
    start = to_local(booking.start_at, user.timezone)
    end = to_local(booking.end_at, user.timezone)
    return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M} ({user.timezone})"


def _booking_message(kind: str, booking: Booking, user: User) -> tuple[str, str]:
    """Subject and body of a booking notice in the current locale (only `kind` is translated:
    one booking transition, one message)."""
    what = {"instrument": booking.instrument.display_name(user.locale),
            "when": _when(booking, user), "reason": booking.decision_reason}
    texts = {
        "booking.approved": lambda: (
            _("Booking confirmed"),
            _("Your booking of %(instrument)s on %(when)s is confirmed.", **what)),
        "booking.rejected": lambda: (
            _("Booking request declined"),
            _("Your request for %(instrument)s on %(when)s was declined: %(reason)s", **what)),
        "booking.cancelled": lambda: (
            _("Booking cancelled"),
            _("Your booking of %(instrument)s on %(when)s was cancelled by the lab. "
              "%(reason)s", **what)),
        "booking.expired": lambda: (
            _("Booking request expired"),
            _("Your request for %(instrument)s on %(when)s was not decided in time and has "
              "expired.", **what)),
        "booking.pending": lambda: (
            _("New booking request"),
            _("%(requester)s asked for %(instrument)s on %(when)s.",
              requester=booking.user.name, **what)),
    }
    return texts[kind]()


def _notify_booker(booking: Booking, kind: str) -> None:
    user = booking.user
    with force_locale(user.locale):
        subject, body = _booking_message(kind, booking, user)
        queue_message(user.email, subject, body, kind=kind)


def _notify_managers(booking: Booking) -> None:
    for manager in managers_of(booking.instrument.organisation_id):
        with force_locale(manager.locale):
            subject, body = _booking_message("booking.pending", booking, manager)
            queue_message(manager.email, subject, body, kind="booking.pending")


def _notify(user: User, kind: str, *, instrument: Instrument, requester: User | None = None
            ) -> None:
    with force_locale(user.locale):
        name = instrument.display_name(user.locale)
        texts = {
            "qualification.granted": (_("Qualification granted"), _(
                "You may now operate %(instrument)s yourself.", instrument=name)),
            "qualification.revoked": (_("Qualification withdrawn"), _(
                "Your qualification for %(instrument)s was withdrawn.", instrument=name)),
            "training.requested": (_("Training requested"), _(
                "%(requester)s asks to be trained on %(instrument)s.", instrument=name,
                requester=requester.name if requester else "")),
            "training.declined": (_("Training request declined"), _(
                "Your training request for %(instrument)s was declined.", instrument=name)),
        }
        subject, body = texts[kind]
        queue_message(user.email, subject, body, kind=kind)
