"""What an instrument's calendar shows and the facts the booking rules are checked against:
opening hours, exceptions, blackouts and bookings, read in as few statements as the hot paths
allow (the calendar JSON and the booking API)."""
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from sqlalchemy import (
    Date,
    Integer,
    String,
    Time,
    bindparam,
    cast,
    func,
    literal_column,
    null,
    select,
    true,
    union_all,
)

from booking.accounts.models import Organisation, User
from booking.bookings import rules
from booking.bookings.models import MAX_LENGTH, Booking, WaitlistEntry
from booking.bookings.qualifications import is_qualified
from booking.bookings.signals import booking_checking
from booking.core.clock import from_local, local_today, now_utc, to_local
from booking.core.db import UTCDateTime
from booking.core.names import in_language
from booking.core.reads import attach_loaded, kept_read, read_all
from booking.extensions import db
from booking.groups.services import awaiting_pi, default_project_select
from booking.instruments.models import Blackout, Instrument, OpeningException, OpeningHours


# --- reading what the calendar shows and the rules check ----------------------------------
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
# round trip: all the calendar shows (weekly hours, opening exceptions, blackouts, bookings)
# comes back from ONE statement after the instrument's row, a UNION ALL of plain Core selects
# tagged by kind. The statements are built once, with bound parameters, so SQLAlchemy reuses
# the compiled SQL. The booking rules read the same union, less bookings, joined to the
# instrument (one row per opening rule: few).
_hours, _exceptions = OpeningHours.__table__.c, OpeningException.__table__.c
_blackouts, _bookings, _instruments = Blackout.__table__.c, Booking.__table__.c, Instrument.__table__.c
_ROW_TYPES = {"weekday": Integer(), "day": Date(), "opens": Time(), "closes": Time(),
              "id": Integer(), "user_id": Integer(), "state": String(), "start_at": UTCDateTime(),
              "end_at": UTCDateTime(), "until": UTCDateTime()}


class CalendarRow(NamedTuple):
    """A row of the union as a plain tuple: a SQLAlchemy Row's attributes cost nine times a
    tuple's, and the calendar reads a thousand of them."""

    kind: str
    weekday: int | None
    day: date | None
    opens: time | None
    closes: time | None
    id: int | None
    user_id: int | None
    state: str | None
    start_at: datetime | None
    end_at: datetime | None
    until: datetime | None


assert CalendarRow._fields == ("kind", *_ROW_TYPES)  # the union's columns, in its order


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
_waiting = WaitlistEntry.__table__.c
_HELD = _tagged("held", WaitlistEntry.__table__, user_id=_waiting.user_id,
                start_at=_waiting.start_at, end_at=_waiting.end_at,
                until=_waiting.offer_expires_at).where(
    _waiting.instrument_id == bindparam("instrument_id"),
    _waiting.state == literal_column("'offered'"),
    _waiting.start_at < bindparam("end", type_=UTCDateTime),
    _waiting.end_at > bindparam("start", type_=UTCDateTime),
    _waiting.offer_expires_at > bindparam("now", type_=UTCDateTime))


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


# The instrument's row apart from its calendar's rows: joined, every row carried the
# instrument's 16 columns again, and reading them took 2.5 times as long (SQLite).
_CALENDAR_INSTRUMENT = select(*(_instruments[name] for name in CalendarInstrument._fields)
                              ).where(_instruments.id == bindparam("instrument_id"))
_CALENDAR_ROWS = union_all(_HOURS, _EXCEPTIONS, _BLACKOUTS, _SHOWN)
_CALENDAR_ROWS = _CALENDAR_ROWS.order_by(_CALENDAR_ROWS.selected_columns.start_at)


MAX_UTC_OFFSET = timedelta(hours=14)  # no timezone is further from UTC (Kiribati: UTC+14)


def _window(instrument_id: int, start: datetime, end: datetime, timezone: str) -> dict:
    return {"instrument_id": instrument_id, "start": start, "end": end,
            "earliest": start - MAX_LENGTH, "first": to_local(start, timezone).date(),
            "last": to_local(end, timezone).date()}


def _by_kind(rows) -> dict[str, list]:
    by_kind = {"hours": [], "exception": [], "blackout": [], "booking": [], "held": [], None: []}
    for row in rows:
        by_kind[row.kind].append(row)
    return by_kind


def _widened(instrument_id: int, start: datetime, end: datetime) -> dict:
    """Parameters for a window around [start, end) that is wide enough whatever the instrument's
    timezone (naive moments are wall clock there), for statements that read the instrument's
    row too: rows outside [start, end) are then cut off by _cut."""
    guess = [from_local(m, "UTC") for m in (start, end)]
    return _window(instrument_id, guess[0] - MAX_UTC_OFFSET, guess[1] + MAX_UTC_OFFSET, "UTC")


def _cut(by_kind: dict[str, list], start: datetime, end: datetime) -> dict[str, list]:
    for kind in ("blackout", "booking", "held"):
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


# What create_booking checks: the instrument, its opening calendar and the wait-list offers
# that hold part of the slot for someone (rules.held_until), in one statement; Core, the
# instrument's columns first (core.reads.attach_loaded makes them the ORM object).
_OPENING_ROWS = union_all(_HOURS, _EXCEPTIONS, _BLACKOUTS, _HELD).subquery("opening_rows")
_INSTRUMENT_COLUMNS = len(Instrument.__table__.c)
_INSTRUMENT_AND_OPENING = select(
    *Instrument.__table__.c, default_project_select(bindparam("user_id")).scalar_subquery(),
    *_OPENING_ROWS.c).select_from(Instrument.__table__.outerjoin(_OPENING_ROWS, true())).where(
    _instruments.id == bindparam("instrument_id"))


class BookingFacts(NamedTuple):
    instrument: Instrument
    opening: rules.OpeningCalendar
    holds: tuple[tuple[int, datetime], ...]  # (user id, held until) of open wait-list offers
    default_project_id: int | None  # the booker's project account charged unless they choose


def instrument_for_booking(instrument_id: int, start: datetime, end: datetime, user_id: int
                           ) -> BookingFacts | None:
    """What create_booking checks the rules against for [start, end) (aware), and the
    booker's default project, in one statement: the booking API's hot path."""
    db.session.flush()  # as an ORM query would
    rows = db.session.connection().execute(
        _INSTRUMENT_AND_OPENING, _widened(instrument_id, start, end)
        | {"now": now_utc(), "user_id": user_id}).all()
    if not rows:
        return None
    instrument = attach_loaded(db.session, Instrument, rows[0][:_INSTRUMENT_COLUMNS])
    by_kind = _cut(_by_kind(CalendarRow._make(row[_INSTRUMENT_COLUMNS + 1:]) for row in rows),
                   start, end)
    return BookingFacts(instrument, _opening_calendar(instrument.timezone, by_kind),
                        tuple((r.user_id, r.until) for r in by_kind["held"]),
                        rows[0][_INSTRUMENT_COLUMNS])


def bookings_between(instrument: Instrument, start: datetime, end: datetime,
                     states=rules.OCCUPYING_STATES) -> list[Booking]:
    return list(db.session.scalars(select(Booking).where(
        Booking.instrument_id == instrument.id, Booking.state.in_(states),
        Booking.overlapping(start, end)).order_by(Booking.start_at)))


def slot_holder(instrument_id: int, start: datetime, end: datetime, moving: int | None = None,
                user_id: int | None = None) -> rules.Holder | None:
    """The first occupying booking overlapping [start, end): its state, when it was made and
    whether it is `user_id`'s; None when the slot is free. `moving`: a booking being moved
    does not hold its own way."""
    row = db.session.execute(select(Booking.state, Booking.created_at, Booking.user_id,
                                    Booking.start_at, Booking.end_at).where(
        Booking.instrument_id == instrument_id, Booking.state.in_(rules.OCCUPYING_STATES),
        Booking.overlapping(start, end), Booking.id != (moving or 0))
        .order_by(Booking.start_at).limit(1)).first()
    return rules.Holder(row[0], row[1], row[2] == user_id, row[3], row[4]) if row else None


def own_overlaps(user: User, instrument_id: int, start: datetime, end: datetime
                 ) -> list[tuple[str, datetime, datetime]]:
    """The user's occupying bookings of other instruments overlapping [start, end), the
    instruments and their institutions named in the user's language (two institutions may
    have instruments of one name)."""
    return [(f"{in_language(name_zh, name_en, user.locale)} · "
             f"{in_language(org_zh, org_en, user.locale)}", start_at, end_at)
            for name_zh, name_en, org_zh, org_en, start_at, end_at in db.session.execute(
        select(Instrument.name_zh, Instrument.name_en, Organisation.name_zh,
               Organisation.name_en, Booking.start_at, Booking.end_at)
        .join(Instrument, Instrument.id == Booking.instrument_id)
        .join(Organisation, Organisation.id == Instrument.organisation_id)
        .where(Booking.user_id == user.id, Booking.instrument_id != instrument_id,
               Booking.state.in_(rules.OCCUPYING_STATES), Booking.overlapping(start, end))
        .order_by(Booking.start_at).limit(5))]


def form_checks(instrument: Instrument, user: User, *, start: datetime, end: datetime,
                mode: str, samples: int, moving: int | None = None
                ) -> tuple[list[rules.Problem], list[rules.Problem]]:
    """What the booking form says before it is sent: the rules the slot breaks and whether it
    is taken (problems), and the user's own bookings elsewhere at that time (warnings).
    `moving`: the id of the booking being moved to that time."""
    problems = booking_problems(instrument, user, start=start, end=end, mode=mode,
                                samples=samples)
    holder = slot_holder(instrument.id, start, end, moving, user.id)
    if holder is not None:
        problems.append(rules.clash_problem(holder, now_utc(), instrument.timezone))
    warnings = rules.own_overlap_warnings(own_overlaps(user, instrument.id, start, end),
                                          instrument.timezone)
    return problems, warnings


# --- availability and the calendar ----------------------------------------------------------
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
    awaiting_pi: set[int] = field(default_factory=set)  # own requests their PI still decides
    # the lab's view: the others' bookings by name (rows, and user id -> name); no busy blocks
    lab: list = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)


_CALENDAR_VERSION = "SELECT calendar_version FROM instruments WHERE id = :instrument_id"


def calendar_version(instrument_id: int) -> int | None:
    """The instrument's calendar_version (None when there is no such instrument)."""
    rows = kept_read(db, _CALENDAR_VERSION, {"instrument_id": instrument_id})
    return rows[0][0] if rows else None


def calendar_view(instrument_id: int, viewer: User | None, start: datetime, end: datetime,
                  now: datetime | None = None
                  ) -> tuple[CalendarInstrument, CalendarView] | None:
    """The instrument and everything its calendar shows for [start, end) at `now`, from two
    statements on one connection (plain column rows, no ORM objects). Naive start and end are
    wall-clock time at the instrument, whose timezone is only known once its row is read; so
    the rows are read for a window widened by the largest UTC offset, cut to the exact range
    here. (Read first, the instrument's calendar_version is never newer than its rows: a body
    kept under it is at worst dropped one change early.)"""
    found, rows = read_all(db.session, (_CALENDAR_INSTRUMENT, _CALENDAR_ROWS),
                           _widened(instrument_id, start, end))
    if not found:
        return None
    instrument = CalendarInstrument(*found[0])
    start, end = (from_local(m, instrument.timezone) for m in (start, end))
    by_kind = _cut(_by_kind(map(CalendarRow._make, rows)), start, end)
    calendar = _opening_calendar(instrument.timezone, by_kind)
    shown = by_kind["booking"]
    busy = [(b.start_at, b.end_at) for b in shown if b.state in rules.OCCUPYING_STATES]
    free = rules.availability(policy_for(instrument), calendar, busy, start, end,
                              now or now_utc())
    viewer_id = viewer.id if viewer is not None and viewer.is_authenticated else None
    own = [b for b in shown if b.user_id == viewer_id]
    others = [b for b in shown if b.user_id != viewer_id]
    requests = [b.id for b in own if b.state == "pending"]
    view = CalendarView(free=free, others=[(b.start_at, b.end_at) for b in others], own=own,
                        blackouts=calendar.blackouts,
                        awaiting_pi=awaiting_pi(requests) if requests else set())
    if viewer_id is not None and viewer.can_manage_organisation(instrument.organisation_id):
        view.others, view.lab = [], others  # the lab sees who booked, and opens the booking
        view.names = _names({b.user_id for b in others})
    return instrument, view


def _names(user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(user_ids))).all())


def day_span(instrument: Instrument) -> tuple[str, str] | None:
    """The hours of a day the instrument's calendar shows: its weekly hours and the special
    hours of days to come (rules.open_span)."""
    today = local_today(tz_name=instrument.timezone)
    return rules.open_span([(h.opens, h.closes) for h in instrument.opening_hours] +
                           [(e.opens, e.closes) for e in instrument.exceptions
                            if e.opens and e.day >= today])


# --- checking a request ----------------------------------------------------------------------
def booker_for(instrument: Instrument, user: User, mode: str, vouched: bool = False
               ) -> rules.Booker:
    """`vouched`: the lab books for the person it has in front of it (on_behalf), whose
    membership its organisation may not have confirmed yet."""
    needs_check = mode == "self_operated" and instrument.requires_qualification
    return rules.Booker(
        organisation_verified=user.organisation.verified,
        membership_confirmed=user.membership_confirmed or vouched,
        email_confirmed=user.email_confirmed or vouched,
        is_internal=user.organisation_id == instrument.organisation_id,
        is_qualified=needs_check and is_qualified(instrument, user))


def booking_problems(instrument: Instrument, user: User, *, start: datetime, end: datetime,
                     mode: str, samples: int = 0, calendar: rules.OpeningCalendar | None = None,
                     holds: tuple | None = None, vouched: bool = False) -> list[rules.Problem]:
    """`calendar`, `holds`: what instrument_for_booking read, when it was (else read here);
    `vouched`: see booker_for. The lab booking for someone needs no notice of itself: the
    lead time is for bookers who would surprise it."""
    calendar = calendar or opening_calendar(instrument, start, end)
    now = now_utc()
    booker = booker_for(instrument, user, mode, vouched)
    policy = policy_for(instrument)
    if vouched:
        policy = replace(policy, lead_minutes=0)
    problems = rules.check_booking(policy, calendar, booker, start=start,
                                   end=end, mode=mode, now=now) + \
        rules.sample_problems(mode, samples)
    held_until = (_held_for_others(instrument.id, user.id, start, end, now) if holds is None
                  else rules.held_until(holds, user.id))
    if held_until is not None:
        problems.append(rules.held_problem(held_until, instrument.timezone))
    for _receiver, answer in booking_checking.send(instrument, user=user):
        problems.extend(answer or [])
    return problems


def _held_for_others(instrument_id: int, user_id: int, start: datetime, end: datetime,
                     now: datetime) -> datetime | None:
    """Until when (part of) [start, end) is held for someone else on the wait list."""
    return db.session.scalar(select(func.max(WaitlistEntry.offer_expires_at)).where(
        WaitlistEntry.instrument_id == instrument_id, WaitlistEntry.state == "offered",
        WaitlistEntry.start_at < end, WaitlistEntry.end_at > start,
        WaitlistEntry.offer_expires_at > now, WaitlistEntry.user_id != user_id))
