"""Reads: the invoices a user may see, and the finance office's views and exports (open
invoices, revenue, priced usage) of the organisations whose finance they keep."""
from datetime import datetime
from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, Select, and_, case, cast, func, or_, select
from sqlalchemy.orm import aliased, selectinload

from booking.accounts.models import Organisation, User
from booking.billing.facts import usage_facts
from booking.billing.models import Invoice, InvoiceLine, Payment
from booking.billing.pricing import Price, price, rate_cards_for
from booking.billing.signals import voucher_returned
from booking.bookings.labels import class_label
from booking.core.clock import month_period, to_local, year_period
from booking.core.db import chunks
from booking.core.money import divide_half_up
from booking.core.tables import yuan
from booking.extensions import db
from booking.instruments.models import Instrument
from booking.instruments.rules import CUSTOMER_CLASSES
from booking.metering.models import UsageSession
from booking.metering.rules import used_minutes


def issued_invoice(invoice_id: int) -> Invoice | None:
    """The invoice, unless it is unknown or still a draft (drafts are nobody's to see)."""
    invoice = db.session.get(Invoice, invoice_id)
    return None if invoice is None or invoice.state == "draft" else invoice


def invoices_of(user: User) -> Select:
    """The user's invoices and credit notes, newest first: issued to them, or to their
    organisation without a named user (Invoice.can_pay as a query)."""
    return select(Invoice).where(Invoice.state != "draft", or_(
        Invoice.customer_user_id == user.id,
        and_(Invoice.customer_user_id.is_(None), Invoice.customer_org_id == user.organisation_id))
    ).order_by(Invoice.issued_at.desc(), Invoice.id.desc())


def month_invoiced(provider_id: int, month: str) -> tuple[int, int, datetime | None]:
    """(invoices, their amount before vouchers, when the last was issued) of the provider's
    close of `month` so far (none void): what the close page says was done already."""
    count, amount, last = db.session.execute(select(
        func.count(), func.sum(Invoice.subtotal_fen), func.max(Invoice.issued_at)).where(
        Invoice.provider_id == provider_id, Invoice.period == month,
        Invoice.kind == "invoice", Invoice.state != "void")).one()
    return count, int(amount or 0), last


def voucher_returned_fen(note: Invoice) -> int:
    """What a credit note gave back to the customer's innovation voucher (0: none, or not a
    credit note): the voucher's share of the credited invoice shrinks in proportion."""
    if not note.is_credit_note:
        return 0
    return sum(int(answer or 0) for _receiver, answer in voucher_returned.send(note))


def voucher_back_per_hundred(invoice: Invoice, given_back_fen: int) -> int:
    """What the voucher gets back, in fen, for every ¥100 a credit note gives the customer of
    `invoice` (0: no voucher share is left): its share shrinks in proportion to the amount due
    (subsidies.rules.share_after_credits)."""
    if invoice.kind != "invoice" or invoice.voucher_fen <= given_back_fen \
            or invoice.amount_due_fen <= 0:
        return 0
    return divide_half_up(invoice.voucher_fen * 10000, invoice.amount_due_fen)


def credit_notes_of(invoice: Invoice) -> list[Invoice]:
    return [] if invoice.is_credit_note else list(db.session.scalars(
        select(Invoice).where(Invoice.credits_id == invoice.id).order_by(Invoice.id)
        .options(selectinload(Invoice.payments))))  # each says what it deducted


# --- the finance office ------------------------------------------------------------------------
def finance_organisations(user: User) -> list[Organisation]:
    """The organisations whose finance the user keeps (may view): their finance roles'."""
    ids = {r.organisation_id for r in user.roles if r.name == "finance"}
    return list(db.session.scalars(select(Organisation).where(Organisation.id.in_(ids))
                                   .order_by(Organisation.name_zh)))


def _received():
    return select(func.sum(Payment.amount_fen)).where(
        Payment.invoice_id == Invoice.id).scalar_subquery()


def overpaid():
    """Paid invoices whose payments came to more than their amount due (Invoice.overpaid_fen
    as a query): what is beyond it is a balance carried for the customer, which the provider
    owes them."""
    return and_(Invoice.state == "paid", Invoice.kind == "invoice",
                _received() > Invoice.amount_due_fen)


def overpaid_fen(provider_id: int) -> int:
    """What the provider's customers paid beyond their invoices, carried as their balance."""
    return int(db.session.scalar(select(func.coalesce(func.sum(
        _received() - Invoice.amount_due_fen), 0)).where(
        Invoice.provider_id == provider_id, overpaid())))


def overpaid_invoices(provider_id: int) -> list[Invoice]:
    return list(db.session.scalars(select(Invoice).where(
        Invoice.provider_id == provider_id, overpaid()).order_by(Invoice.issued_at, Invoice.id)
        .options(selectinload(Invoice.payments), selectinload(Invoice.customer_org))))


def open_invoices(provider_id: int) -> list[Invoice]:
    """Issued invoices with something to pay (an invoice of waived charges only is not open)."""
    return list(db.session.scalars(select(Invoice).where(
        Invoice.provider_id == provider_id, Invoice.state == "issued",
        Invoice.kind == "invoice", Invoice.amount_due_fen > 0).order_by(Invoice.due_at, Invoice.id)
        .options(selectinload(Invoice.payments))))  # what is outstanding on each


def revenue_rows(provider_id: int, year: int, *, month: int | None = None,
                 instrument_id: int | None = None, customer_class: str | None = None,
                 locale: str = "zh_CN") -> Select:
    """Invoiced amounts (issued or paid invoices, before voucher deduction) by local month of
    service, instrument and customer class, summed by the database (a page of them is a
    LIMIT/OFFSET away): rows of month, instrument_id, instrument, customer_class, lines,
    minutes and amount_fen, optionally of one month, instrument or class; the instruments of
    a month in the order of their names in `locale`."""
    months = [month_period(year, m) for m in range(1, 13)]
    period = months[month - 1] if month else year_period(year)
    # the local month of a moment of the year: the first month that ends after it
    local_month = case(*[(InvoiceLine.service_at < m.end, m.label) for m in months[:-1]],
                       else_=months[-1].label)
    lines = (select(local_month.label("month"), InvoiceLine.instrument_id,
                    Invoice.customer_class, InvoiceLine.minutes, InvoiceLine.amount_fen)
             .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
             .where(Invoice.provider_id == provider_id, Invoice.kind == "invoice",
                    Invoice.state.in_(("issued", "paid")), InvoiceLine.service_at >= period.start,
                    InvoiceLine.service_at < period.end))
    if instrument_id is not None:
        lines = lines.where(InvoiceLine.instrument_id == instrument_id)
    if customer_class is not None:
        lines = lines.where(Invoice.customer_class == customer_class)
    lines = lines.subquery()  # grouped by its columns, not by the CASE and its parameters
    return (select(lines.c.month, Instrument.id.label("instrument_id"),
                   Instrument.name_zh.label("instrument"), lines.c.customer_class,
                   func.count().label("lines"),
                   cast(func.sum(lines.c.minutes), BigInteger).label("minutes"),
                   cast(func.sum(lines.c.amount_fen), BigInteger).label("amount_fen"))
            .select_from(lines).join(Instrument, Instrument.id == lines.c.instrument_id)
            .group_by(lines.c.month, Instrument.id, Instrument.name_zh, lines.c.customer_class)
            .order_by(lines.c.month, _name_order(locale), Instrument.id, lines.c.customer_class))


def credited_in(provider_id: int, year: int) -> int:
    """What the provider's credit notes issued in the (local) year took off its fees, in fen:
    what they gave back to the customers and, where a voucher helped pay the invoice, the
    voucher's share they gave back with it (the revenue rows count fees as invoiced, before
    either)."""
    period = year_period(year)
    credited = aliased(Invoice)
    notes = db.session.execute(
        select(Invoice, credited.voucher_fen > 0)
        .join(credited, credited.id == Invoice.credits_id)
        .where(Invoice.provider_id == provider_id, Invoice.kind == "credit_note",
               Invoice.state.in_(("issued", "paid")), Invoice.issued_at >= period.start,
               Invoice.issued_at < period.end)).all()
    return sum(note.amount_due_fen + (voucher_returned_fen(note) if had_voucher else 0)
               for note, had_voucher in notes)


def _name_order(locale: str):
    """An instrument's name as the reader sees it: the English one, when it has one."""
    if locale != "en":
        return Instrument.name_zh
    return func.coalesce(func.nullif(Instrument.name_en, ""), Instrument.name_zh)


def revenue(provider_id: int, year: int) -> list[dict]:
    """Every row of revenue_rows for the year, as dicts (the export)."""
    return [dict(row._mapping) for row in db.session.execute(revenue_rows(provider_id, year))]


class MonthTotal(NamedTuple):
    month: int
    label: str  # YYYY-MM
    lines: int
    minutes: int
    amount_fen: int


def revenue_by_month(provider_id: int, year: int, *, instrument_id: int | None = None,
                     customer_class: str | None = None) -> list[MonthTotal]:
    """The year's revenue_rows summed by month, every month listed (none billed: zeros)."""
    rows = revenue_rows(provider_id, year, instrument_id=instrument_id,
                        customer_class=customer_class).order_by(None).subquery()
    sums = {month: (int(lines), int(minutes), int(amount)) for month, lines, minutes, amount
            in db.session.execute(select(rows.c.month, func.sum(rows.c.lines),
                                         func.sum(rows.c.minutes), func.sum(rows.c.amount_fen))
                                  .group_by(rows.c.month))}
    labels = [month_period(year, month).label for month in range(1, 13)]
    return [MonthTotal(month, label, *sums.get(label, (0, 0, 0)))
            for month, label in enumerate(labels, 1)]


PRICED_USAGE_COLUMNS = ("session_id", "booking_id", "instrument", "user_id", "customer_org_id",
                        "customer_class", "start", "end", "used_minutes", "billable_minutes",
                        "hourly_fen", "amount_fen")


def priced_usage(provider_id: int, year: int) -> list[tuple]:
    """Every effective session of the provider's instruments in the year, priced by the rate
    card in force (whether invoiced yet or not): the finance office's usage export, as tuples
    in PRICED_USAGE_COLUMNS order."""
    period = year_period(year)
    facts = usage_facts(and_(Instrument.organisation_id == provider_id,
                             UsageSession.started_at >= period.start,
                             UsageSession.started_at < period.end), uncharged_only=False)
    cards = rate_cards_for(f.instrument_id for f in facts)
    rows = []
    for fact in facts:
        priced = price(fact, cards.get(fact.instrument_id, [])) or \
            Price(fact.customer_class, 0, None, None, used_minutes(fact.start, fact.end))
        rows.append((fact.session_id, fact.booking_id, fact.instrument_name, fact.user_id,
                     fact.customer_org_id, priced.customer_class, fact.start, fact.end,
                     priced.used_minutes, priced.billable_minutes, priced.hourly_fen,
                     priced.amount_fen))
    return rows


# --- the finance office's exports: (header, rows) for core.tables ---------------------------
def _class_labels() -> dict[str, str]:
    """The customer classes as the reader names them (codes were read as English words)."""
    return {code: class_label(code) for code in CUSTOMER_CLASSES}


def revenue_table(provider_id: int, year: int) -> tuple[tuple, list]:
    header = ("month", "instrument_id", "instrument", "customer_class", "lines", "minutes",
              "amount_fen", "amount_cny")
    labels = _class_labels()
    return header, [(r["month"], r["instrument_id"], r["instrument"],
                     labels.get(r["customer_class"], r["customer_class"]), r["lines"],
                     r["minutes"], r["amount_fen"], yuan(r["amount_fen"]))
                    for r in revenue(provider_id, year)]


def usage_table(provider_id: int, year: int) -> tuple[tuple, list]:
    """Priced usage with the user's and the customer's names beside their ids."""
    rows = priced_usage(provider_id, year)
    amount = PRICED_USAGE_COLUMNS.index("amount_fen")
    user_at, org_at = PRICED_USAGE_COLUMNS.index("user_id"), \
        PRICED_USAGE_COLUMNS.index("customer_org_id")
    users = _names(User, User.name, {row[user_at] for row in rows})
    orgs = _names(Organisation, Organisation.name_zh, {row[org_at] for row in rows})
    header = (*PRICED_USAGE_COLUMNS[:org_at + 1], "user", "customer",
              *PRICED_USAGE_COLUMNS[org_at + 1:], "amount_cny")
    labels = _class_labels()  # customer_class comes right after customer_org_id
    return header, [(*row[:org_at + 1], users.get(row[user_at], ""),
                     orgs.get(row[org_at], ""), labels.get(row[org_at + 1], row[org_at + 1]),
                     *row[org_at + 2:], yuan(row[amount]))
                    for row in rows]


def _names(model, column, ids: set) -> dict:
    names = {}
    for chunk in chunks(ids):
        names.update(db.session.execute(select(model.id, column).where(model.id.in_(chunk))).all())
    return names


def open_table(provider_id: int, year: int) -> tuple[tuple, list]:
    """Open items as of now (the year does not narrow them): the invoices customers owe, then
    what the provider owes them, negative: credit notes to refund and overpayments carried."""
    header = ("number", "customer", "customer_class", "issued_at", "due_at", "amount_due_fen",
              "amount_due_cny", "outstanding_cny", "kind")
    labels, kinds = _class_labels(), {kind: str(label) for kind, label in OPEN_ITEMS.items()}
    owed = [(i, "invoice", i.amount_due_fen, i.outstanding_fen) for i in open_invoices(provider_id)]
    refunds = [(n, "credit_note", -n.amount_due_fen, -n.to_refund_fen)
               for n in db.session.scalars(select(Invoice).where(
                   Invoice.provider_id == provider_id, Invoice.state == "issued",
                   Invoice.kind == "credit_note").order_by(Invoice.issued_at, Invoice.id).options(
                   selectinload(Invoice.payments)))]
    carried = [(i, "overpaid", -i.overpaid_fen, -i.overpaid_fen)  # paid: owed back only
               for i in overpaid_invoices(provider_id)]
    return header, [(i.number, i.customer_org.name_zh, labels.get(i.customer_class,
                                                                  i.customer_class),
                     to_local(i.issued_at).date(),
                     to_local(i.due_at).date() if kind == "invoice" else None, amount,
                     yuan(amount), yuan(left), kinds[kind])
                    for i, kind, amount, left in owed + refunds + carried]


#: The open items' kinds as the export names them.
OPEN_ITEMS = {"invoice": _l("Invoice"), "credit_note": _l("Credit note to refund"),
              "overpaid": _l("Overpayment carried for the customer")}


TABLES = {"revenue": revenue_table, "usage": usage_table, "open": open_table}

#: The exports' column headers as people read them (Chinese in the Chinese UI).
HEADERS = {
    "month": _l("Month"), "instrument_id": _l("Instrument id"), "instrument": _l("Instrument"),
    "customer_class": _l("Customer class"), "lines": _l("Charges"), "minutes": _l("Minutes"),
    "amount_fen": _l("Amount (fen)"), "amount_cny": _l("Amount (CNY)"),
    "session_id": _l("Session id"), "booking_id": _l("Booking id"), "user_id": _l("User id"),
    "user": _l("User"), "customer_org_id": _l("Customer id"), "customer": _l("Customer"),
    "start": _l("Start"), "end": _l("End"), "used_minutes": _l("Minutes used"),
    "billable_minutes": _l("Billable minutes"), "hourly_fen": _l("Hourly rate (fen)"),
    "number": _l("Number"), "issued_at": _l("Issued"), "due_at": _l("Due"),
    "amount_due_fen": _l("Amount due (fen)"), "amount_due_cny": _l("Amount due (CNY)"),
    "outstanding_cny": _l("Outstanding (CNY)"), "email": _l("E-mail"), "phone": _l("Phone"),
    "days_overdue": _l("Days overdue"), "last_reminder": _l("Last reminder"), "kind": _l("Kind")}


def header_labels(header) -> list[str]:
    return [str(HEADERS.get(key, key)) for key in header]
