"""Metering workflows: check-in, check-out, manager entries and corrections, no-shows,
instrument tokens. They flush, never commit. Metering records facts and never imports billing:
billing listens to `session_closed` (a blinker signal) to invoice a completed booking."""
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from blinker import Namespace
from sqlalchemy import Select, exists, or_, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import joinedload, selectinload

from booking.accounts.models import User, hash_token
from booking.bookings import rules as booking_rules
from booking.bookings.calendar import opening_calendar
from booking.bookings.models import Booking
from booking.bookings.notifications import notify_no_show, notify_no_show_withdrawn
from booking.bookings.qualifications import note_qualification_used
from booking.bookings.requests import _is_overlap, move_booking
from booking.bookings.rules import OCCUPYING_STATES
from booking.core import audit
from booking.core.clock import from_local, now_utc
from booking.core.problems import Problem, Refused, _l
from booking.extensions import db
from booking.instruments.models import Instrument
from booking.metering import rules
from booking.metering.models import Charge, InstrumentToken, UsageSession, customer_of

signals = Namespace()
#: Sent after a session is closed (check-out or manager entry), with `session=`. Billing
#: answers it by invoicing the booking when the customer is billed per booking.
session_closed = signals.signal("usage-session-closed")
#: Sent with a list of session ids; receivers return {session id: Charge} of those already
#: charged. A charged session is not corrected: the correction would be charged again, and an
#: issued invoice is corrected by a credit note.
sessions_charged = signals.signal("usage-sessions-charged")
#: Sent with a list of booking ids; receivers return {booking id: the charge's label} of those
#: whose no-show is charged (billing: the invoice's number).
no_shows_charged = signals.signal("usage-no-shows-charged")


def charged_sessions(session_ids: list[int]) -> dict[int, Charge]:
    """Which of the sessions are charged already, and where."""
    charged: dict[int, Charge] = {}
    for _receiver, answer in sessions_charged.send(session_ids):
        charged.update(answer or {})
    return charged


def charged_no_shows_under(session: UsageSession) -> list[tuple[Booking, str]]:
    """The user's no-shows on the instrument that a session recorded afterwards overlaps, and
    the invoice charging each: charged before the use was known, they are charged twice
    unless finance credits them (a no-show not yet charged is waived: the slot was used)."""
    no_shows = list(db.session.scalars(select(Booking).where(
        Booking.instrument_id == session.instrument_id, Booking.user_id == session.user_id,
        Booking.state == "no_show", Booking.overlapping(session.started_at, session.ended_at))))
    charged = _charged_no_shows([b.id for b in no_shows]) if no_shows else {}
    return [(b, charged[b.id]) for b in no_shows if b.id in charged]


def _charged_no_shows(booking_ids: list[int]) -> dict[int, str]:
    charged: dict[int, str] = {}
    for _receiver, answer in no_shows_charged.send(booking_ids):
        charged.update(answer or {})
    return charged


class MeteringRefused(Refused):
    """The session breaks one or more metering rules (all of them are listed); one that
    overlaps another session or a booking is a conflict (409)."""

    conflicts = frozenset({"session_overlap", "booking_clash"})


def _refuse(code: str, message: str):
    raise MeteringRefused.one(code, message)


# --- queries -----------------------------------------------------------------------------------
def effective_sessions(instrument_id: int, start: datetime, end: datetime | None,
                       exclude_id: int | None = None) -> list[UsageSession]:
    query = select(UsageSession).where(
        UsageSession.instrument_id == instrument_id, UsageSession.effective_clause(),
        or_(UsageSession.ended_at.is_(None), UsageSession.ended_at > start))
    if end is not None:
        query = query.where(UsageSession.started_at < end)
    if exclude_id is not None:
        query = query.where(UsageSession.id != exclude_id)
    return list(db.session.scalars(query))


def running_session(instrument: Instrument) -> UsageSession | None:
    return db.session.scalar(select(UsageSession).where(
        UsageSession.instrument_id == instrument.id, UsageSession.ended_at.is_(None),
        UsageSession.effective_clause()))


def sessions_of_booking(booking: Booking) -> list[UsageSession]:
    return list(db.session.scalars(select(UsageSession).where(
        UsageSession.booking_id == booking.id, UsageSession.effective_clause())
        .order_by(UsageSession.started_at)))


def _other_bookings(instrument_id: int, start: datetime, end: datetime,
                    booking_id: int | None) -> list[tuple[datetime, datetime]]:
    query = select(Booking.start_at, Booking.end_at).where(
        Booking.instrument_id == instrument_id, Booking.state.in_(OCCUPYING_STATES),
        Booking.overlapping(start, end))
    if booking_id is not None:
        query = query.where(Booking.id != booking_id)
    return [tuple(row) for row in db.session.execute(query)]


def upcoming_bookings(instrument: Instrument, user: User, now: datetime) -> list[Booking]:
    """The user's bookings of this instrument a kiosk can check in now (today's)."""
    return list(db.session.scalars(select(Booking).where(
        Booking.instrument_id == instrument.id, Booking.user_id == user.id,
        Booking.state.in_(("approved", "in_use")),
        Booking.start_at < now + timedelta(hours=12), Booking.end_at > now - timedelta(hours=12))
        .order_by(Booking.start_at)))


# --- check-in and check-out --------------------------------------------------------------------
def _check_free(instrument_id: int, start: datetime, end: datetime,
                booking_id: int | None, exclude_session: int | None = None) -> None:
    sessions = [(s.started_at, s.ended_at)
                for s in effective_sessions(instrument_id, start, end, exclude_session)]
    problems = rules.clash_problems(start, end, sessions,
                                    _other_bookings(instrument_id, start, end, booking_id))
    if problems:
        raise MeteringRefused(problems)


def _note_use(instrument_id: int, user_id: int, booking: Booking | None, at: datetime) -> None:
    """Using the instrument oneself keeps one's qualification from lapsing (staff-operated
    送样 sessions are the staff's use, not the customer's)."""
    if booking is None or booking.mode == "self_operated":
        note_qualification_used(instrument_id, user_id, at)


def check_in(booking: Booking, *, actor: User, source: str) -> UsageSession:
    """Start the session of an approved booking that is due (from the instrument's check-in
    window before the start, when the instrument is free until then) and move the booking to
    in_use."""
    now = now_utc()
    if booking.state != "approved":
        _refuse("not_approved", _l("Only an approved booking can be checked in."))
    instrument = booking.instrument
    problems = rules.check_in_problems(booking.start_at, booking.end_at,
                                       instrument.check_in_early_minutes, now,
                                       instrument.timezone)
    if problems:
        raise MeteringRefused(problems)
    _check_free(booking.instrument_id, now, booking.end_at, booking.id)
    session = UsageSession(instrument_id=booking.instrument_id, booking=booking,
                           user_id=booking.user_id, customer_org_id=customer_of(booking),
                           started_at=now, source=source, recorded_by_id=actor.id)
    db.session.add(session)
    _note_use(booking.instrument_id, booking.user_id, booking, now)
    move_booking(booking, "in_use", actor, source=source)
    db.session.flush()
    audit.record("usage.checked_in", actor=actor, obj=session, booking_id=booking.id)
    return session


def walk_up(instrument: Instrument, user: User, *, minutes: int, actor: User,
            source: str) -> UsageSession:
    """Use without a booking: internal users only, while the instrument is open and nobody
    has booked the time."""
    now = now_utc()
    if user.organisation_id != instrument.organisation_id:
        _refuse("walk_up_external", _l("Walk-up use without a booking is for internal users only."))
    if instrument.status != "active":
        _refuse("instrument_inactive", _l("The instrument is not in service."))
    end = now + timedelta(minutes=max(minutes, 1))
    problems = booking_rules.calendar_problems(opening_calendar(instrument, now, end), now, end)
    if problems:
        raise MeteringRefused(problems)
    _check_free(instrument.id, now, end, None)
    session = UsageSession(instrument_id=instrument.id, user_id=user.id,
                           customer_org_id=customer_of(None, user), started_at=now,
                           source=source, recorded_by_id=actor.id)
    db.session.add(session)
    _note_use(instrument.id, user.id, None, now)
    db.session.flush()
    audit.record("usage.walk_up", actor=actor, obj=session, planned_minutes=minutes)
    return session


def check_out(session: UsageSession, *, actor: User) -> UsageSession:
    """End a running session; completes its booking and flags an overrun into the next one."""
    if not session.is_running:
        _refuse("not_running", _l("This session has already ended."))
    now = now_utc()
    session.ended_at = max(now, session.started_at + timedelta(minutes=1))
    booking = session.booking
    if booking is not None:
        starts = [s for s, _ in _other_bookings(session.instrument_id, booking.end_at,
                                                session.ended_at, booking.id)]
        session.overrun = rules.overran(booking.end_at, session.ended_at, starts)
        if booking.state == "in_use":
            move_booking(booking, "completed", actor, overrun=session.overrun)
    db.session.flush()
    audit.record("usage.checked_out", actor=actor, obj=session, minutes=session.minutes,
                 overrun=session.overrun)
    session_closed.send(session=session)
    return session


def check_out_booking(booking: Booking, *, actor: User) -> UsageSession:
    running = [s for s in sessions_of_booking(booking) if s.is_running]
    if not running:
        _refuse("not_running", _l("This booking has no running session."))
    return check_out(running[0], actor=actor)


# --- manager entries and corrections -------------------------------------------------------------
def record_session(instrument: Instrument, user: User, *, start: datetime, end: datetime,
                   actor: User, source: str, booking: Booking | None = None) -> UsageSession:
    """A finished session entered afterwards (manager form, instrument PC, API)."""
    problems = rules.interval_problems(start, end, now_utc(),
                                       rules.longest_session(instrument.max_minutes))
    if booking is not None and booking.instrument_id != instrument.id:
        problems.append(Problem("wrong_instrument",
                                      _l("The booking is for another instrument.")))
    if booking is not None and booking.user_id != user.id:
        problems.append(Problem("wrong_user", _l("The booking belongs to another user.")))
    if booking is not None:
        problems += rules.booking_session_problems(
            start, booking.state, booking.start_at, booking.end_at,
            instrument.check_in_early_minutes, instrument.timezone)
    if booking is None and user.organisation_id != instrument.organisation_id:
        problems.append(Problem(
            "walk_up_external", _l("Walk-up use without a booking is for internal users only.")))
    if problems:
        raise MeteringRefused(problems)
    _check_free(instrument.id, start, end, booking.id if booking else None)
    session = UsageSession(instrument_id=instrument.id, booking=booking, user_id=user.id,
                           customer_org_id=customer_of(booking, user), started_at=start,
                           ended_at=end, source=source, recorded_by_id=actor.id)
    db.session.add(session)
    _note_use(instrument.id, user.id, booking, start)
    if booking is not None:
        for target in ("in_use", "completed"):
            if booking.state in ("approved", "in_use") and booking.state != target:
                move_booking(booking, target, actor, source=source)
    db.session.flush()
    audit.record("usage.recorded", actor=actor, obj=session, start=start.isoformat(),
                 end=end.isoformat(), source=source)
    session_closed.send(session=session)
    return session


def correct_session(original: UsageSession, *, start: datetime, end: datetime | None,
                    actor: User, note: str, void: bool = False) -> UsageSession:
    """Append a row replacing `original` (which stays, with the audit trail)."""
    if db.session.scalar(select(exists().where(UsageSession.corrects_id == original.id))):
        _refuse("already_corrected", _l("This session has already been corrected."))
    charge = charged_sessions([original.id]).get(original.id)
    if charge is not None:
        raise MeteringRefused.one("session_charged", _l(
            "Session #%(session)s is charged on invoice %(invoice)s and stays as billed: give "
            "back what it overcharged with a credit note on that invoice."),
            session=original.id, invoice=charge.number)
    if not void:
        problems = rules.interval_problems(start, end, now_utc(), rules.longest_session(
            original.instrument.max_minutes))
        if end is None:
            problems.append(Problem("open_end", _l("A corrected session needs an end.")))
        if problems:
            raise MeteringRefused(problems)
        _check_free(original.instrument_id, start, end, original.booking_id,
                    exclude_session=original.id)
    fix = UsageSession(instrument_id=original.instrument_id, booking_id=original.booking_id,
                       user_id=original.user_id, customer_org_id=original.customer_org_id,
                       started_at=start, ended_at=end,
                       source="manager", recorded_by_id=actor.id, corrects_id=original.id,
                       void=void, note=note[:500])
    db.session.add(fix)
    db.session.flush()
    audit.record("usage.corrected", actor=actor, obj=fix, corrects=original.id, void=void,
                 before=[original.started_at.isoformat(),
                         original.ended_at.isoformat() if original.ended_at else None],
                 after=[start.isoformat(), end.isoformat() if end else None], note=note[:500])
    return fix


# --- the lab's day -------------------------------------------------------------------------------
class ScheduledBooking(NamedTuple):
    booking: Booking
    sessions: list[UsageSession]  # its effective sessions, in order

    @property
    def running(self) -> UsageSession | None:
        return next((s for s in self.sessions if s.is_running), None)

    def may_be_checked_in(self, now: datetime) -> bool:
        """Approved, and its check-in open (a later day's row offers none: it was refused)."""
        booking = self.booking
        return booking.state == "approved" and not rules.check_in_problems(
            booking.start_at, booking.end_at, booking.instrument.check_in_early_minutes, now,
            booking.instrument.timezone)

    def may_be_marked_no_show(self, now: datetime) -> bool:
        return not rules.no_show_problems(self.booking.state, bool(self.sessions),
                                          self.booking.start_at, now)


def day_schedule(instrument: Instrument, day: date) -> list[ScheduledBooking]:
    """The instrument's bookings touching a local day, with their bookers and their use: what
    the lab works through (check in, check out, no-shows)."""
    start = from_local(datetime.combine(day, time()), instrument.timezone)
    end = from_local(datetime.combine(day + timedelta(days=1), time()), instrument.timezone)
    return _scheduled(select(Booking).where(Booking.instrument_id == instrument.id,
                                            Booking.overlapping(start, end)))


LAB_DAY_LIMIT = 500  # bookings on one page: a day of a large lab, never a worker's minute


def lab_day(organisation_ids: list[int], day: date, timezone: str) -> list[ScheduledBooking]:
    """The day at every instrument of the lab's organisations, soonest first (`timezone`:
    the reader's, whose day it is): not cancelled, rejected or expired."""
    start = from_local(datetime.combine(day, time()), timezone)
    end = from_local(datetime.combine(day + timedelta(days=1), time()), timezone)
    return _scheduled(select(Booking).join(Booking.instrument).where(
        Instrument.organisation_id.in_(organisation_ids), Booking.overlapping(start, end),
        Booking.state.not_in(("cancelled", "rejected", "expired")))
        .options(joinedload(Booking.instrument)).limit(LAB_DAY_LIMIT))


def _scheduled(query: Select) -> list[ScheduledBooking]:
    bookings = db.session.scalars(query.options(
        joinedload(Booking.user).joinedload(User.organisation))
        .order_by(Booking.start_at, Booking.id)).unique().all()
    sessions = defaultdict(list)
    for session in db.session.scalars(select(UsageSession).where(
            UsageSession.booking_id.in_([b.id for b in bookings]),
            UsageSession.effective_clause()).order_by(UsageSession.started_at)):
        sessions[session.booking_id].append(session)
    return [ScheduledBooking(b, sessions[b.id]) for b in bookings]


def mark_no_show(booking: Booking, *, actor: User) -> None:
    """The lab marks an approved booking nobody came for (its charge is billed at the month's
    close, as for the daily job's no-shows)."""
    problems = rules.no_show_problems(booking.state, bool(sessions_of_booking(booking)),
                                      booking.start_at, now_utc())
    if problems:
        raise MeteringRefused(problems)
    move_booking(booking, "no_show", actor, source="manager")
    notify_no_show(booking)


def withdraw_no_show(booking: Booking, *, actor: User, reason: str = "") -> str:
    """The lab takes back a no-show not charged yet (marked by mistake, or excused): see
    rules.no_show_withdrawn_to. Returns the booking's new state. Once over, the lab says why,
    as for any booking it cancels; the booker reads it on the booking's page."""
    if booking.state != "no_show":
        _refuse("not_a_no_show", _l("Only a no-show can be withdrawn."))
    invoice = _charged_no_shows([booking.id]).get(booking.id)
    if invoice:
        raise MeteringRefused.one("no_show_charged", _l(
            "This no-show is charged on invoice %(invoice)s already: finance withdraws the "
            "charge with a credit note."), invoice=invoice)
    now = now_utc()
    target = rules.no_show_withdrawn_to(booking.end_at, now)
    reason = reason.strip()
    if target == "cancelled":
        if not reason:
            _refuse("reason_required", _l("Say why the no-show is withdrawn: the booker reads it."))
        move_booking(booking, "cancelled", actor, source="manager", reason=reason,
                     withdrawn="no_show")
        booking.cancelled_at, booking.late_cancel = now, False
        booking.decision_reason = reason[:500]
    else:  # its time is held again, unless someone booked it meanwhile (the database guards)
        move_booking(booking, "approved", actor, source="manager", withdrawn="no_show")
        _hold_again(booking)
    notify_no_show_withdrawn(booking)
    return target


def _hold_again(booking: Booking) -> None:
    try:
        db.session.flush()
    except DBAPIError as error:
        db.session.rollback()
        if _is_overlap(error):
            _refuse("slot_taken", _l(
                "Someone booked this time after it was marked a no-show: record the use "
                "without a booking instead."))
        raise


# --- no-shows ----------------------------------------------------------------------------------
def mark_no_shows(now: datetime | None = None) -> int:
    """Approved bookings without any session by end + grace become no_show."""
    now = now or now_utc()
    has_session = exists().where(UsageSession.booking_id == Booking.id)
    late = db.session.scalars(select(Booking).where(
        Booking.state == "approved", Booking.end_at <= now - rules.NO_SHOW_GRACE,
        ~has_session).order_by(Booking.id).options(  # each booker is told: one read
        selectinload(Booking.user), selectinload(Booking.instrument))).all()
    for booking in late:
        move_booking(booking, "no_show", None)
        notify_no_show(booking)
    return len(late)


# --- instrument tokens -------------------------------------------------------------------------
def create_instrument_token(instrument: Instrument, name: str, actor: User
                            ) -> tuple[InstrumentToken, str]:
    raw = InstrumentToken.generate()
    token = InstrumentToken(instrument=instrument, name=name[:100], token_hash=hash_token(raw),
                            hint=raw[:10], created_by_id=actor.id)
    db.session.add(token)
    db.session.flush()
    audit.record("instrument_token.created", actor=actor, obj=token,
                 instrument_id=instrument.id)
    return token, raw


def revoke_instrument_token(token: InstrumentToken, actor: User) -> None:
    if token.revoked_at is None:
        token.revoked_at = now_utc()
        audit.record("instrument_token.revoked", actor=actor, obj=token)


def instrument_for_token(raw: str, touch: bool = True) -> Instrument | None:
    """The instrument of a usable token; `touch` records its use (not on a page that only
    shows: a GET writes nothing, and on SQLite could not take the write lock)."""
    token = InstrumentToken.find(raw or "")
    if token is None:
        return None
    if touch:
        token.last_used_at = now_utc()
    return token.instrument


def instrument_tokens(instrument: Instrument) -> list[InstrumentToken]:
    return list(db.session.scalars(select(InstrumentToken).where(
        InstrumentToken.instrument_id == instrument.id).order_by(InstrumentToken.id.desc())))


def month_sessions(instrument: Instrument, start: datetime, end: datetime) -> list[UsageSession]:
    """The effective sessions (not replaced, not void) begun in [start, end), in order: the
    use a lab reports for the month."""
    return list(db.session.scalars(select(UsageSession).where(
        UsageSession.instrument_id == instrument.id, UsageSession.started_at >= start,
        UsageSession.started_at < end, UsageSession.effective_clause())
        .options(joinedload(UsageSession.user).joinedload(User.organisation))
        .order_by(UsageSession.started_at, UsageSession.id)))


def corrections_of(session_ids: list[int]) -> dict[int, int]:
    """{session id: the id of the row that corrected it} for those of `session_ids` replaced."""
    return dict(db.session.execute(select(UsageSession.corrects_id, UsageSession.id).where(
        UsageSession.corrects_id.in_(session_ids))).all()) if session_ids else {}


def sessions_for_manager(instrument: Instrument) -> Select:
    """The instrument's sessions, latest first (the usage page pages them)."""
    return select(UsageSession).where(UsageSession.instrument_id == instrument.id).order_by(
        UsageSession.started_at.desc(), UsageSession.id.desc()).options(
        selectinload(UsageSession.user))



def kiosk_action(instrument: Instrument, user: User, walk_up_minutes: int | None
                 ) -> tuple[str, UsageSession]:
    """What a user's credentials at the kiosk mean: end their running session, else start
    their booking due now, else (with minutes) a walk-up. Returns (action, session)."""
    running = running_session(instrument)
    if running is not None and running.user_id == user.id:
        return "checked_out", check_out(running, actor=user)
    now = now_utc()
    today = [b for b in upcoming_bookings(instrument, user, now) if b.state == "approved"]
    due = [b for b in today if rules.is_due(b.start_at, b.end_at,
                                            instrument.check_in_early_minutes, now)]
    if due:
        return "checked_in", check_in(due[0], actor=user, source="kiosk")
    if walk_up_minutes:
        return "walk_up", walk_up(instrument, user, minutes=walk_up_minutes, actor=user,
                                  source="kiosk")
    later = [b for b in today if b.start_at > now]
    if later:  # not yet due: say when it will be
        raise MeteringRefused(rules.check_in_problems(
            later[0].start_at, later[0].end_at, instrument.check_in_early_minutes, now,
            instrument.timezone))
    _refuse("no_booking", _l("You have no booking of this instrument now. Internal users may "
                          "start a walk-up session by giving its planned length."))
