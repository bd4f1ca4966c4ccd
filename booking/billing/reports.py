"""Reads: the invoices a user may see, and the finance office's views and exports (open
invoices, revenue, priced usage) of the organisations whose finance they keep."""
from collections import defaultdict

from sqlalchemy import Select, and_, or_, select

from booking.accounts.models import Organisation, User
from booking.billing.facts import usage_facts
from booking.billing.models import Invoice, InvoiceLine
from booking.billing.pricing import Price, price, rate_cards_for
from booking.core.clock import to_local, year_period
from booking.core.tables import yuan
from booking.extensions import db
from booking.instruments.models import Instrument
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


def credit_notes_of(invoice: Invoice) -> list[Invoice]:
    return [] if invoice.is_credit_note else list(db.session.scalars(
        select(Invoice).where(Invoice.credits_id == invoice.id).order_by(Invoice.id)))


# --- the finance office ------------------------------------------------------------------------
def finance_organisations(user: User) -> list[Organisation]:
    """The organisations whose finance the user keeps (may view): their finance roles'."""
    ids = {r.organisation_id for r in user.roles if r.name == "finance"}
    return list(db.session.scalars(select(Organisation).where(Organisation.id.in_(ids))
                                   .order_by(Organisation.name_zh)))


def open_invoices(provider_id: int) -> list[Invoice]:
    """Issued invoices with something to pay (an invoice of waived charges only is not open)."""
    return list(db.session.scalars(select(Invoice).where(
        Invoice.provider_id == provider_id, Invoice.state == "issued",
        Invoice.kind == "invoice", Invoice.amount_due_fen > 0).order_by(Invoice.due_at, Invoice.id)))


def revenue(provider_id: int, year: int) -> list[dict]:
    """Invoiced amounts (issued or paid invoices, before voucher deduction) by local month of
    service, instrument and customer class."""
    period = year_period(year)
    rows = db.session.execute(
        select(InvoiceLine.service_at, Instrument.id, Instrument.name_zh, Invoice.customer_class,
               InvoiceLine.minutes, InvoiceLine.amount_fen)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .join(Instrument, Instrument.id == InvoiceLine.instrument_id)
        .where(Invoice.provider_id == provider_id, Invoice.kind == "invoice",
               Invoice.state.in_(("issued", "paid")), InvoiceLine.service_at >= period.start,
               InvoiceLine.service_at < period.end))
    totals: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    for at, instrument_id, name, klass, minutes, amount in rows:
        entry = totals[(f"{to_local(at):%Y-%m}", name, instrument_id, klass)]
        entry[0] += 1
        entry[1] += minutes
        entry[2] += amount
    return [{"month": m, "instrument_id": i, "instrument": n, "customer_class": k,
             "lines": v[0], "minutes": v[1], "amount_fen": v[2]}
            for (m, n, i, k), v in sorted(totals.items())]


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
def revenue_table(provider_id: int, year: int) -> tuple[tuple, list]:
    header = ("month", "instrument_id", "instrument", "customer_class", "lines", "minutes",
              "amount_fen", "amount_cny")
    return header, [(r["month"], r["instrument_id"], r["instrument"], r["customer_class"],
                     r["lines"], r["minutes"], r["amount_fen"], yuan(r["amount_fen"]))
                    for r in revenue(provider_id, year)]


def usage_table(provider_id: int, year: int) -> tuple[tuple, list]:
    amount = PRICED_USAGE_COLUMNS.index("amount_fen")
    return PRICED_USAGE_COLUMNS + ("amount_cny",), [
        (*row, yuan(row[amount])) for row in priced_usage(provider_id, year)]


def open_table(provider_id: int, year: int) -> tuple[tuple, list]:
    """Open invoices as of now (the year does not narrow them: they are what is owed)."""
    header = ("number", "customer", "customer_class", "issued_at", "due_at", "amount_due_fen",
              "amount_due_cny")
    return header, [(i.number, i.customer_org.name_zh, i.customer_class, i.issued_at, i.due_at,
                     i.amount_due_fen, yuan(i.amount_due_fen)) for i in open_invoices(provider_id)]


TABLES = {"revenue": revenue_table, "usage": usage_table, "open": open_table}
