"""Recurring booking series: the preview (every occurrence with its price and the rules it
breaks or the booking that holds it), creation (the series and its free occurrences in one
transaction), and deciding or cancelling it as one. Workflows flush, never commit."""
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, insert, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import selectinload

from booking.accounts.models import User
from booking.billing.pricing import NoRate, quote_booking
from booking.billing.rules import Quote
from booking.bookings import calendar, notifications, recurrence, requests, rules
from booking.bookings.models import Booking, BookingSeries, WaitlistEntry
from booking.bookings.signals import booking_checking
from booking.core import audit
from booking.core.clock import now_utc, to_local
from booking.core.db import take_write_lock
from booking.core.problems import Problem, _l
from booking.extensions import db
from booking.groups import services as groups
from booking.groups.models import Project
from booking.instruments.models import Instrument


class NothingToBook(requests.BookingRefused):
    """No occurrence of the series can be booked: every problem found, once each. A conflict
    (409) when only clashes stand in the way, as for a single booking."""

    def __init__(self, occurrences: list["Occurrence"]):
        distinct = {}
        for occurrence in occurrences:
            for problem in occurrence.problems:
                distinct.setdefault(problem.code, problem)
        super().__init__(list(distinct.values()))

    @property
    def http_status(self) -> int:
        return 409 if {p.code for p in self.problems} <= requests.BookingClash.conflicts \
            else self.status


@dataclass
class Occurrence:
    """One slot of a series: what stands in its way (empty: free), its price in a preview,
    and its booking once created."""

    start: datetime
    end: datetime
    problems: list[Problem] = field(default_factory=list)
    quote: Quote | None = None
    booking: Booking | None = None

    @property
    def free(self) -> bool:
        return not self.problems


@dataclass
class SeriesResult:
    series: BookingSeries
    created: list[Booking]
    refused: list[Occurrence]


# --- planning: expand the rule, check every occurrence ------------------------------------------
_HELD = select(Booking.start_at, Booking.end_at, Booking.state, Booking.created_at)


def _held(instrument_id: int, start: datetime, end: datetime) -> list[recurrence.Held]:
    """The occupying bookings overlapping [start, end), in one query (sorted by start)."""
    return [recurrence.Held(*row) for row in db.session.execute(_HELD.where(
        Booking.instrument_id == instrument_id, Booking.state.in_(rules.OCCUPYING_STATES),
        Booking.overlapping(start, end)).order_by(Booking.start_at))]


def _offered(instrument_id: int, user_id: int, start: datetime, end: datetime,
             now: datetime) -> list[recurrence.Offered]:
    """Times in [start, end) offered to others on their wait list, until the offers lapse."""
    return [recurrence.Offered(*row) for row in db.session.execute(
        select(WaitlistEntry.start_at, WaitlistEntry.end_at, WaitlistEntry.offer_expires_at)
        .where(WaitlistEntry.instrument_id == instrument_id, WaitlistEntry.state == "offered",
               WaitlistEntry.start_at < end, WaitlistEntry.end_at > start,
               WaitlistEntry.offer_expires_at > now, WaitlistEntry.user_id != user_id))]


def plan_series(instrument: Instrument, user: User, *, start: datetime, end: datetime,
                mode: str, samples: int, repeat: recurrence.Repeat) -> list[Occurrence]:
    """Every occurrence of the series with the problems it meets as a single booking would
    (booking_problems' rules, the slot's holder, a wait-list offer to someone else), from
    four reads however long the series: the opening calendar of its span, the booker's
    standing, the slots held and those offered in it.
    Raises BookingRefused when the rule itself is wrong (too long, too many, ...)."""
    slots, problems = recurrence.expand(repeat, start.astimezone(UTC), end.astimezone(UTC),
                                        instrument.timezone)
    if problems:
        raise requests.BookingRefused(problems)
    first, last = recurrence.span(slots)
    now = now_utc()
    found = recurrence.occurrence_problems(
        calendar.policy_for(instrument), calendar.opening_calendar(instrument, first, last),
        calendar.booker_for(instrument, user, mode), occurrences=slots, mode=mode,
        samples=samples, held=_held(instrument.id, first, last),
        offered=_offered(instrument.id, user.id, first, last, now), now=now)
    return [Occurrence(s, e, p) for (s, e), p in zip(slots, found, strict=True)]


def preview_series(instrument: Instrument, user: User, *, start: datetime, end: datetime,
                   mode: str, samples: int, repeat: recurrence.Repeat,
                   project: Project | None = None) -> tuple[list[Occurrence], list[Problem]]:
    """plan_series, with each occurrence's price for the user (None: no rate for them), and
    what would refuse the whole series (series_refusals), as booking it would say."""
    occurrences = plan_series(instrument, user, start=start, end=end, mode=mode,
                              samples=samples, repeat=repeat)
    for occurrence in occurrences:
        try:
            occurrence.quote = quote_booking(instrument, user, occurrence.start, occurrence.end,
                                             mode, samples)
        except NoRate:
            break  # no rate for the user's class: none of them has a price
    if not any(o.free for o in occurrences):
        return occurrences, []
    return occurrences, series_refusals(instrument, user, project, occurrences, mode,
                                        samples)[0]


def series_refusals(instrument: Instrument, user: User, project: Project | None,
                    occurrences: list[Occurrence], mode: str, samples: int
                    ) -> tuple[list[Problem], dict]:
    """What refuses a series whatever its dates: the booker's standing (booking_checking's
    receivers: invoices long overdue) and, charged to a project, its budget for the whole
    series and whether its PI must approve; with the fee the project holds for each free
    occurrence (by start)."""
    refusals = [p for _r, answer in booking_checking.send(instrument, user=user)
                for p in (answer or [])]
    fees = _project_fees(instrument, user, project, occurrences, mode, samples)
    if project is not None:
        refusals += _project_problems(instrument, user, project, sum(fees.values()),
                                      occurrences[0].start)
    return refusals, fees


# --- creating ------------------------------------------------------------------------------------
def create_series(instrument: Instrument, user: User, *, start: datetime, end: datetime,
                  mode: str, purpose: str, samples: int, repeat: recurrence.Repeat,
                  project: Project | None = None) -> SeriesResult:
    """Book the free occurrences of the series ("book the free ones"): one series row and one
    booking per free occurrence, in the caller's transaction; the others are reported as
    refused with their reasons. Raises NothingToBook when none is free. `project`: the
    project account (经费卡) charged, which must hold the whole series' fee."""
    occurrences = plan_series(instrument, user, start=start, end=end, mode=mode,
                              samples=samples, repeat=repeat)
    if not any(o.free for o in occurrences):
        raise NothingToBook(occurrences)
    refusals, fees = series_refusals(instrument, user, project, occurrences, mode, samples)
    if refusals:
        raise requests.BookingRefused(refusals)
    take_write_lock(db.session)
    series = BookingSeries(
        instrument_id=instrument.id, user_id=user.id, freq=repeat.freq, every=repeat.interval,
        byweekday=",".join(repeat.weekdays), times=repeat.count, until=repeat.until,
        timezone=instrument.timezone, start_at=occurrences[0].start, end_at=occurrences[0].end)
    db.session.add(series)
    db.session.flush()
    automatic = not instrument.requires_approval
    now = now_utc()
    values = dict(instrument_id=instrument.id, user_id=user.id,
                  organisation_id=user.organisation_id, mode=mode, purpose=purpose,
                  sample_count=samples, state="approved" if automatic else "pending",
                  created_at=now, updated_at=now, decided_at=now if automatic else None,
                  series_id=series.id, project_id=project.id if project else None)
    _insert_free(occurrences, values, instrument.timezone)
    created = [o.booking for o in occurrences if o.booking is not None]
    if not created:  # every free one was taken meanwhile: the series row goes with the rollback
        raise NothingToBook(occurrences)
    for booking in created if project is not None else ():
        groups.hold(project, booking_id=booking.id, fee_fen=fees.get(booking.start_at, 0),
                    instrument_id=instrument.id, category=instrument.category or "",
                    description=requests.hold_description(instrument, booking.start_at))
    audit.record_each("booking.approved" if automatic else "booking.requested", created,
                      actor=user, data_of=lambda b: {
                          "start": b.start_at.isoformat(), "end": b.end_at.isoformat(),
                          "mode": mode, "samples": samples, "series": series.id})
    refused = [o for o in occurrences if o.booking is None]
    audit.record("series.created", actor=user, obj=series, rule=_rule_data(repeat),
                 created=len(created), refused=[o.start.isoformat() for o in refused])
    if automatic:
        notifications.notify_series_approved(series, created)
    else:
        notifications.notify_series_requested(series, created)
    return SeriesResult(series, created, refused)


def _project_fees(instrument: Instrument, user: User, project: Project | None,
                  occurrences: list[Occurrence], mode: str, samples: int) -> dict:
    """The quoted fee of each free occurrence (by start) that the project holds."""
    if project is None:
        return {}
    try:
        return {o.start: quote_booking(instrument, user, o.start, o.end, mode, samples).fee_fen
                for o in occurrences if o.free}
    except NoRate:
        return {}


def _project_problems(instrument: Instrument, user: User, project: Project, fee_fen: int,
                      start: datetime) -> list[Problem]:
    """A series charged to a project: the project must hold all of it, and the PI is not
    asked per occurrence (such a series is booked date by date instead)."""
    charge = groups.check_charge(
        project, user, instrument_id=instrument.id, category=instrument.category or "",
        fee_fen=fee_fen, day=to_local(start, instrument.timezone).date())
    problems = charge.problems
    if charge.to_pi and not problems:
        problems.append(Problem("series_needs_pi", _l(
            "Your PI approves requests charged to this project: book these dates one by one, "
            "not as a series.")))
    return problems


_INSERT_BOOKINGS = insert(Booking).returning(Booking, sort_by_parameter_order=True)


def _insert_free(occurrences: list[Occurrence], values: dict, timezone: str) -> None:
    """Insert the free occurrences, each guarded by the database's no-overlap check: all in one
    statement inside a savepoint. Should another transaction have taken one of the slots since
    they were checked (the checks read before the write lock, as create_booking's do; and on
    PostgreSQL nothing locks a free slot), the statement is rolled back to the savepoint and
    the occurrences go in one savepoint each, a clash refusing only its own occurrence. A
    savepoint, not a rollback: the series row and the other occurrences stay."""
    free = [o for o in occurrences if o.free]
    rows = [{**values, "start_at": o.start, "end_at": o.end} for o in free]
    try:
        with db.session.begin_nested():
            bookings = db.session.scalars(_INSERT_BOOKINGS, rows).all()
    except DBAPIError as error:
        if not requests._is_overlap(error):
            raise
        for occurrence, row in zip(free, rows, strict=True):
            _insert_one(occurrence, row, timezone)
        return
    for occurrence, booking in zip(free, bookings, strict=True):
        occurrence.booking = booking


def _insert_one(occurrence: Occurrence, row: dict, timezone: str) -> None:
    try:
        with db.session.begin_nested():
            occurrence.booking = db.session.scalars(_INSERT_BOOKINGS, [row]).one()
    except DBAPIError as error:
        if not requests._is_overlap(error):
            raise
        holder = calendar.slot_holder(row["instrument_id"], row["start_at"], row["end_at"],
                                      user_id=row["user_id"])
        occurrence.problems.append(rules.clash_problem(holder, now_utc(), timezone))


def _rule_data(repeat: recurrence.Repeat) -> dict:
    return {"freq": repeat.freq, "interval": repeat.interval, "byweekday": list(repeat.weekdays),
            "count": repeat.count, "until": repeat.until.isoformat() if repeat.until else None}


# --- deciding and cancelling as one --------------------------------------------------------------
def pending_of(series: BookingSeries) -> list[Booking]:
    return [b for b in series.bookings if b.state == "pending"]


def decide_series(series: BookingSeries, actor: User, *, approve: bool, reason: str = ""
                  ) -> list[Booking]:
    """Approve or reject every pending occurrence of the series; the booker is told once.
    Returns the occurrences decided (none: nothing was pending any more)."""
    if not approve and not reason.strip():
        raise requests.ReasonRequired()
    pending = pending_of(series)
    for booking in pending:
        if approve:
            requests.approve_booking(booking, actor, tell=False)
        else:
            requests.reject_booking(booking, actor, reason, tell=False)
    if pending:
        audit.record("series.approved" if approve else "series.rejected", actor=actor,
                     obj=series, bookings=[b.id for b in pending], reason=reason.strip())
        notifications.notify_series_decided(series, pending, approved=approve)
    return pending


def cancellable_of(series: BookingSeries, since: Booking | None = None) -> list[Booking]:
    """The occurrences still to come that can be cancelled; from `since` on when given
    ("this and following")."""
    now = now_utc()
    return [b for b in series.bookings if b.start_at > now
            and b.state in rules.CANCELLABLE_STATES
            and (since is None or b.start_at >= since.start_at)]


def cancel_series(series: BookingSeries, actor: User, *, since: Booking | None = None,
                  reason: str = "") -> list[Booking]:
    """Cancel the rest of the series (from `since`, or all of it): each occurrence as a
    single booking is, so the late-cancel rule applies to each one on its own."""
    cancelled = cancellable_of(series, since)
    for booking in cancelled:
        requests.cancel_booking(booking, actor, reason)
    if cancelled:
        audit.record("series.cancelled", actor=actor, obj=series,
                     since=since.id if since else None, bookings=[b.id for b in cancelled],
                     late=[b.id for b in cancelled if b.late_cancel])
    return cancelled


# --- lists ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PendingSeries:
    series: BookingSeries
    pending: int
    first: datetime
    last: datetime


def pending_series(manager: User) -> list[PendingSeries]:
    """The series with pending occurrences on instruments the user manages, oldest first."""
    query = (select(BookingSeries, func.count(), func.min(Booking.start_at),
                    func.max(Booking.start_at))
             .join(Booking, Booking.series_id == BookingSeries.id)
             .join(Instrument, Instrument.id == BookingSeries.instrument_id)
             .where(Booking.state == "pending").group_by(BookingSeries.id)
             .order_by(BookingSeries.created_at, BookingSeries.id)
             .options(selectinload(BookingSeries.instrument), selectinload(BookingSeries.user)))
    if not manager.is_admin:
        query = query.where(Instrument.organisation_id.in_(manager.managed_organisation_ids()))
    return [PendingSeries(*row) for row in db.session.execute(query)]
