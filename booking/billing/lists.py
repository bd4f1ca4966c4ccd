"""The long lists of invoices: a finance office's invoices of its organisation and a
customer's own, filtered, searched and paged by the database (a count and one LIMIT/OFFSET
read, see api.paging). Every query starts from the invoices the viewer may see; a filter only
narrows it further."""
from datetime import datetime, timedelta

import marshmallow as ma
from sqlalchemy import Select, exists, or_, select, text, union_all
from sqlalchemy.orm import aliased, joinedload, selectinload

from booking.accounts.models import Organisation, User
from booking.api.fields import Day, Id, SearchText
from booking.api.paging import PageArgs, in_order
from booking.billing.models import Invoice, InvoiceLine
from booking.billing.reports import invoices_of, overpaid
from booking.core.clock import local_midnight
from booking.extensions import db
from booking.instruments.models import Instrument
from booking.instruments.rules import CUSTOMER_CLASSES

# what the state filter offers: unpaid (issued with something to pay), overdue (unpaid past
# its due date), paid invoices, those paid beyond their amount (a balance carried for the
# customer), credit notes, void ones, or all of them
STATES = ("unpaid", "overdue", "paid", "overpaid", "credit", "void", "all")
CUSTOMER_STATES = tuple(state for state in STATES if state != "overpaid")  # finance's word
MAX_CHOICES = 300  # rows offered in a filter's drop-down


class InvoiceFilters(PageArgs):
    q = SearchText()
    issued_from = Day(data_key="from")
    issued_to = Day(data_key="to")

    @ma.post_load
    def _ordered(self, data, **kwargs):
        return in_order(data, "issued_from", "issued_to")


class FinanceArgs(InvoiceFilters):
    state = ma.fields.String(load_default="unpaid", validate=ma.validate.OneOf(STATES))
    instrument = Id()
    customer = Id()
    per_page = ma.fields.Integer(load_default=25, validate=ma.validate.Range(1, 100))


class MyInvoicesArgs(InvoiceFilters):
    state = ma.fields.String(load_default="all", validate=ma.validate.OneOf(CUSTOMER_STATES))
    provider = Id()


class OverdueArgs(PageArgs):
    per_page = ma.fields.Integer(load_default=50, validate=ma.validate.Range(1, 100))


FINANCE_ARGS = FinanceArgs()
OVERDUE_ARGS = OverdueArgs()
MY_INVOICES_ARGS = MyInvoicesArgs()


def _unpaid():
    return (Invoice.state == "issued", Invoice.kind == "invoice", Invoice.amount_due_fen > 0)


def _in_state(query: Select, state: str, now: datetime) -> Select:
    """Invoices in the filter's `state`, unpaid ones soonest due first, others latest first."""
    if state in ("unpaid", "overdue"):
        query = query.where(*_unpaid()).order_by(Invoice.due_at, Invoice.id)
        return query.where(Invoice.due_at < now) if state == "overdue" else query
    query = query.order_by(Invoice.issued_at.desc(), Invoice.id.desc())
    if state == "paid":
        return query.where(Invoice.state == "paid", Invoice.kind == "invoice")
    if state == "overpaid":
        return query.where(overpaid())
    if state == "credit":
        return query.where(Invoice.kind == "credit_note")
    if state == "void":
        return query.where(Invoice.state == "void")
    return query


def _issued_between(query: Select, args: dict, timezone: str) -> Select:
    if args.get("issued_from"):
        query = query.where(Invoice.issued_at >= local_midnight(args["issued_from"], timezone))
    if args.get("issued_to"):
        query = query.where(Invoice.issued_at < local_midnight(
            args["issued_to"] + timedelta(days=1), timezone))
    return query


def _named(query: Select, text: str, organisation_column, with_user: bool) -> Select:
    """Invoices whose number contains `text`, or the name of the organisation in
    `organisation_column` (or, `with_user`, of the customer named on it)."""
    org = aliased(Organisation)
    query = query.join(org, org.id == organisation_column)
    matches = [Invoice.number.icontains(text, autoescape=True),
               org.name_zh.icontains(text, autoescape=True),
               org.name_en.icontains(text, autoescape=True)]
    if with_user:
        query = query.outerjoin(User, User.id == Invoice.customer_user_id)
        matches.append(User.name.icontains(text, autoescape=True))
    return query.where(or_(*matches))


# --- the finance office -------------------------------------------------------------------------
def provider_invoices(provider_id: int, args: dict, now: datetime, timezone: str) -> Select:
    """The provider's invoices and credit notes (never drafts) matching `args` (FinanceArgs).
    The search looks at the number and the customer (organisation or named user)."""
    query = select(Invoice).where(Invoice.provider_id == provider_id,
                                  Invoice.state != "draft").options(
        selectinload(Invoice.customer_org), selectinload(Invoice.customer_user),
        selectinload(Invoice.payments))  # a part payment shows what is still to pay
    query = _issued_between(_in_state(query, args["state"], now), args, timezone)
    if args.get("customer"):
        query = query.where(Invoice.customer_org_id == args["customer"])
    if args.get("instrument"):
        query = query.where(exists().where(InvoiceLine.invoice_id == Invoice.id,
                                           InvoiceLine.instrument_id == args["instrument"]))
    if args.get("q"):
        query = _named(query, args["q"], Invoice.customer_org_id, with_user=True)
    return query


def is_provider_instrument(provider_id: int, instrument_id: int) -> bool:
    return db.session.scalar(select(Instrument.organisation_id).where(
        Instrument.id == instrument_id)) == provider_id


def instruments_by_id(ids) -> dict[int, Instrument]:
    """The instruments a page of rows names, to tell same-named ones apart."""
    return {i.id: i for i in db.session.scalars(select(Instrument).where(
        Instrument.id.in_(ids)))} if ids else {}


def provider_instruments(provider_id: int) -> list[Instrument]:
    """The provider's instruments, for the instrument filter."""
    return list(db.session.scalars(select(Instrument).where(
        Instrument.organisation_id == provider_id).order_by(Instrument.name_zh, Instrument.id)
        .limit(MAX_CHOICES)))


# --- a customer's own --------------------------------------------------------------------------
def customer_invoices(user: User, args: dict, now: datetime, timezone: str) -> Select:
    """The invoices the user may pay (reports.invoices_of) matching `args` (MyInvoicesArgs).
    The search looks at the number and the provider's name."""
    query = invoices_of(user).order_by(None).options(selectinload(Invoice.provider),
                                                     selectinload(Invoice.payments))
    query = _issued_between(_in_state(query, args["state"], now), args, timezone)
    if args.get("provider"):
        query = query.where(Invoice.provider_id == args["provider"])
    if args.get("q"):
        query = _named(query, args["q"], Invoice.provider_id, with_user=False)
    return query


def invoice_providers(user: User) -> list[Organisation]:
    """The organisations that invoiced the user, for the provider filter."""
    providers = invoices_of(user).order_by(None).with_only_columns(Invoice.provider_id)
    return list(db.session.scalars(select(Organisation).where(Organisation.id.in_(providers))
                                   .order_by(Organisation.name_zh).limit(MAX_CHOICES)))


# --- the finance office's revenue ----------------------------------------------------------------
class RevenueArgs(PageArgs):
    """The revenue report's filters (its year is the finance pages' `year`)."""

    month = ma.fields.Integer(validate=ma.validate.Range(1, 12))
    instrument = Id()
    customer_class = ma.fields.String(data_key="class",
                                      validate=ma.validate.OneOf(CUSTOMER_CLASSES))
    per_page = ma.fields.Integer(load_default=50, validate=ma.validate.Range(1, 100))


REVENUE_ARGS = RevenueArgs()


# --- one booking's charges ---------------------------------------------------------------------
# literal, as in its index: SQLite matches a partial index's condition to the query's as written
_PENALTY_LINE = text("invoice_lines.kind IN ('no_show', 'late_cancel')")


def lines_of_booking(booking_id: int, session_ids: list[int]) -> list[InvoiceLine]:
    """The invoice lines charging a booking: its sessions' use, its samples, its no-show or
    late-cancellation penalty; credited and void ones too (their invoice says so). Each arm
    repeats the condition of its partial unique index, so that the index finds its lines."""
    arms = [select(InvoiceLine.id).where(InvoiceLine.kind == "samples",
                                         InvoiceLine.booking_id == booking_id),
            select(InvoiceLine.id).where(_PENALTY_LINE, InvoiceLine.booking_id == booking_id)]
    if session_ids:
        arms.append(select(InvoiceLine.id).where(InvoiceLine.kind == "usage",
                                                 InvoiceLine.usage_session_id.in_(session_ids)))
    return list(db.session.scalars(
        select(InvoiceLine).where(InvoiceLine.id.in_(union_all(*arms)))
        .options(joinedload(InvoiceLine.invoice))
        .order_by(InvoiceLine.service_at, InvoiceLine.id)))
