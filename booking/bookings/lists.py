"""The long lists of bookings: a user's own bookings and a lab's approval queue, filtered,
searched and paged by the database (a count and one LIMIT/OFFSET read, see api.paging),
never loaded whole. Every query starts from whose rows the viewer may see; a filter only
narrows it further."""
from datetime import timedelta

import marshmallow as ma
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import joinedload, selectinload

from booking.accounts.models import Organisation, User
from booking.api.fields import Day, Id, SearchText
from booking.api.paging import PageArgs, in_order
from booking.bookings.models import Booking
from booking.bookings.rules import OCCUPYING_STATES, STATES
from booking.core.clock import local_midnight, now_utc
from booking.core.db import id_in
from booking.extensions import db
from booking.groups import services as groups
from booking.instruments.models import Instrument

WHEN = ("upcoming", "past", "all")
MAX_CHOICES = 300  # instruments offered in a filter's drop-down


class BookingFilters(PageArgs):
    """What both lists filter on: a search, an instrument and a period of start dates."""

    q = SearchText()
    instrument = Id()
    start_from = Day(data_key="from")
    start_to = Day(data_key="to")

    @ma.post_load
    def _ordered(self, data, **kwargs):
        return in_order(data, "start_from", "start_to")


class MyBookingsArgs(BookingFilters):
    when = ma.fields.String(load_default="upcoming", validate=ma.validate.OneOf(WHEN))
    state = ma.fields.String(validate=ma.validate.OneOf(STATES))


QUEUE_ORDERS = ("soonest", "arrival")


class QueueArgs(BookingFilters):
    per_page = ma.fields.Integer(load_default=25, validate=ma.validate.Range(1, 100))
    sort = ma.fields.String(load_default="soonest", validate=ma.validate.OneOf(QUEUE_ORDERS))


MY_BOOKINGS_ARGS = MyBookingsArgs()
QUEUE_ARGS = QueueArgs()


def _number(text: str) -> int | None:
    """A booking number typed into the search box ("1234" or "#1234")."""
    return id_in(text.removeprefix("#"))


def _searching(query: Select, text: str, *columns) -> Select:
    """Rows whose number is `text`, or one of whose `columns` contains it (any case)."""
    matches = [column.icontains(text, autoescape=True) for column in columns]
    number = _number(text)
    if number is not None:
        matches.append(Booking.id == number)
    return query.where(or_(*matches))


def _filtered(query: Select, args: dict, timezone: str) -> Select:
    """The filters both lists share; the period counts whole local days of `timezone`."""
    if args.get("instrument"):
        query = query.where(Booking.instrument_id == args["instrument"])
    if args.get("start_from"):
        query = query.where(Booking.start_at >= local_midnight(args["start_from"], timezone))
    if args.get("start_to"):
        query = query.where(Booking.start_at < local_midnight(
            args["start_to"] + timedelta(days=1), timezone))
    return query


# --- My bookings ---------------------------------------------------------------------------------
def my_bookings(user: User, args: dict, timezone: str) -> Select:
    """The user's bookings matching `args` (MyBookingsArgs): upcoming ones (not over yet, and
    still holding their time unless a state is asked for: one cancelled or refused is not
    coming up) soonest first, past ones and all of them latest first."""
    query = select(Booking).join(Booking.instrument).where(Booking.user_id == user.id).options(
        selectinload(Booking.instrument).selectinload(Instrument.organisation))
    now = now_utc()
    if args["when"] == "upcoming":
        query = query.where(Booking.end_at > now).order_by(Booking.start_at, Booking.id)
        if not args.get("state"):
            query = query.where(Booking.state.in_(OCCUPYING_STATES))
    else:
        if args["when"] == "past":
            query = query.where(Booking.end_at <= now)
        query = query.order_by(Booking.start_at.desc(), Booking.id.desc())
    if args.get("state"):
        query = query.where(Booking.state == args["state"])
    if args.get("q"):
        query = _searching(query, args["q"], Instrument.name_zh, Instrument.name_en,
                           Booking.purpose)
    return _filtered(query, args, timezone)


def booked_instruments(user: User) -> list[Instrument]:
    """The instruments the user has booked, for the instrument filter."""
    return list(db.session.scalars(
        select(Instrument).where(Instrument.id.in_(
            select(Booking.instrument_id).where(Booking.user_id == user.id)))
        .options(joinedload(Instrument.organisation))
        .order_by(Instrument.name_zh, Instrument.id).limit(MAX_CHOICES)))


# --- the approval queue --------------------------------------------------------------------------
def _managed(query: Select, manager: User) -> Select:
    """Only instruments of the organisations the user manages (every one for admins)."""
    if manager.is_admin:
        return query
    return query.where(Instrument.organisation_id.in_(manager.managed_organisation_ids()))


def queue_requests(manager: User, args: dict, timezone: str) -> Select:
    """Pending requests the manager decides, matching `args` (QueueArgs): the soonest to start
    first (tomorrow's request before next month's: undecided, it expires), or in order of
    arrival. The search looks at the requester (name, e-mail, organisation), the instrument,
    the purpose and the booking number."""
    order = Booking.start_at if args.get("sort", "soonest") == "soonest" else Booking.created_at
    query = _managed(select(Booking).join(Booking.instrument), manager).where(
        Booking.state == "pending", ~groups.awaiting_pi_clause(Booking.id)).options(
        selectinload(Booking.instrument), selectinload(Booking.user),
        selectinload(Booking.organisation)).order_by(order, Booking.id)
    if args.get("q"):
        query = _searching(query.join(Booking.user).join(Booking.organisation), args["q"],
                           User.name, User.email, Organisation.name_zh, Organisation.name_en,
                           Instrument.name_zh, Instrument.name_en, Booking.purpose)
    return _filtered(query, args, timezone)


def queue_instruments(manager: User) -> list[Instrument]:
    """The manager's instruments with requests waiting, for the instrument filter."""
    waiting = select(Booking.instrument_id).where(Booking.state == "pending",
                                                  ~groups.awaiting_pi_clause(Booking.id))
    return list(db.session.scalars(
        _managed(select(Instrument).where(Instrument.id.in_(waiting)), manager)
        .order_by(Instrument.name_zh, Instrument.id).limit(MAX_CHOICES)))
