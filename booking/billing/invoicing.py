"""Invoices: priced facts grouped into drafts, numbered, offered to voucher receivers and
issued set-based; a completed booking invoiced at check-out; corrections (void, credit notes).
Issued invoices are never edited. Everything flushes, nothing commits: the caller commits once.
"""
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload, selectinload

from booking.accounts.models import Organisation, User
from booking.billing import notifications, rules
from booking.billing.facts import Fact, booking_facts
from booking.billing.models import Invoice, InvoiceCounter, InvoiceLine, Payment
from booking.billing.pricing import price_line, rate_cards_for
from booking.billing.refusals import BillingRefused
from booking.billing.signals import invoice_credited, invoice_issuing
from booking.bookings.models import Booking
from booking.core import audit
from booking.core.clock import local_today, now_utc
from booking.core.db import bulk_insert, chunks, reserve_ids
from booking.core.money import format_cny
from booking.core.problems import _l
from booking.extensions import db
from booking.groups import services as groups
from booking.metering.models import UsageSession


@dataclass
class Draft:
    """An invoice to create: its column values and its lines' column values."""

    values: dict
    lines: list[dict]


def make_drafts(facts: list[Fact], period: str | None,
           progress: Callable[[int], None] | None = None) -> list[Draft]:
    """Priced facts grouped into one draft per provider, customer organisation, user and
    project account charged (经费卡; None: the customer pays)."""
    cards = rate_cards_for(f.instrument_id for f in facts)
    by_draft: dict[tuple, list[dict]] = defaultdict(list)
    for fact in facts:
        line = price_line(fact, cards.get(fact.instrument_id, []))
        if line is not None:
            by_draft[(fact.provider_id, fact.customer_org_id, fact.user_id,
                      fact.customer_class, fact.project_id)].append(line)
        if progress:
            progress(1)
    return [Draft({"provider_id": p, "customer_org_id": c, "customer_user_id": u,
                   "customer_class": k, "period": period, "kind": "invoice",
                   "project_id": j}, lines)
            for (p, c, u, k, j), lines in by_draft.items()]


# --- numbering ---------------------------------------------------------------------------------
def _reserve_numbers(provider_id: int, year: int, count: int) -> int:
    """Reserve `count` consecutive numbers; returns the first. The counter row is created if
    missing (INSERT ... ON CONFLICT DO NOTHING) and bumped with UPDATE ... RETURNING, which
    holds its row lock until commit: concurrent closes queue instead of sharing numbers."""
    table = InvoiceCounter.__table__
    dialect_insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[
        db.session.get_bind().dialect.name]
    with db.session.no_autoflush:
        db.session.execute(dialect_insert(table).values(
            provider_id=provider_id, year=year, last_number=0).on_conflict_do_nothing())
        last = db.session.execute(update(table).where(
            table.c.provider_id == provider_id, table.c.year == year)
            .values(last_number=table.c.last_number + count)
            .returning(table.c.last_number)).scalar_one()
    return last - count + 1


def _numbers(provider_ids: list[int], year: int) -> list[str]:
    """One number per entry, consecutive per provider (DLUT-2026-000123)."""
    counts = Counter(provider_ids)
    prefixes = {o.id: o.short_code or f"ORG{o.id}" for o in db.session.scalars(
        select(Organisation).where(Organisation.id.in_(list(counts))))}
    next_number = {p: _reserve_numbers(p, year, n) for p, n in sorted(counts.items())}
    numbers = []
    for provider in provider_ids:
        numbers.append(rules.invoice_number(prefixes[provider], year, next_number[provider]))
        next_number[provider] += 1
    return numbers


# --- creating and issuing ----------------------------------------------------------------------
# What a draft may leave out (bulk inserts take rows with the same keys).
INVOICE_DEFAULTS = {"period": None, "project_id": None}
LINE_DEFAULTS = {"kind": "usage", "minutes": 0, "quantity": 0, "unit_price_fen": 0,
                 "instrument_id": None, "booking_id": None, "usage_session_id": None,
                 "service_at": None}


class Issued(NamedTuple):
    ids: list[int]
    amount_due_fen: int  # what the invoices ask for in all, voucher shares deducted


def issue(drafts: list[Draft], now: datetime | None = None) -> Issued:
    """Number, insert issued, and ask for voucher shares, set-based (a few statements per
    thousand invoices). Issued invoices are immutable: the voucher shares are the last part of
    issuing, in the same transaction."""
    if not drafts:
        return Issued([], 0)
    now = now or now_utc()
    numbers = _numbers([d.values["provider_id"] for d in drafts], now.year)
    # after the numbers: their counter's UPDATE holds SQLite's write lock, so the largest id
    # reserve_ids reads there is current
    ids = reserve_ids(db.session, Invoice.__table__, len(drafts))
    issued = _issued(now)
    rows = []
    for invoice_id, draft, number in zip(ids, drafts, numbers, strict=True):
        subtotal = sum(line["amount_fen"] for line in draft.lines)
        rows.append({**INVOICE_DEFAULTS, **draft.values, "id": invoice_id, "number": number,
                     **issued, "created_at": now, "subtotal_fen": subtotal, "voucher_fen": 0,
                     "amount_due_fen": subtotal})
    # Bulk inserts with the ids given (no RETURNING, no reading back): the ORM's bulk insert
    # would split the rows into a statement per run of rows with the same None columns.
    bulk_insert(db.session, Invoice.__table__, rows)
    bulk_insert(db.session, InvoiceLine.__table__, [
        {**LINE_DEFAULTS, **line, "invoice_id": invoice_id}
        for invoice_id, draft in zip(ids, drafts, strict=True) for line in draft.lines])
    deducted = _ask_for_vouchers([row for row in rows if row["kind"] == "invoice"
                                  and row["customer_class"] == "enterprise"])
    _charge_projects([row["id"] for row in rows if row["project_id"]])
    return Issued(ids, sum(row["subtotal_fen"] for row in rows) - deducted)


def _issued(now: datetime) -> dict:
    return {"state": "issued", "issued_at": now, "due_at": now + timedelta(days=rules.PAYMENT_DAYS)}


def _charge_projects(invoice_ids: list[int]) -> None:
    """Invoices charged to project accounts go into their ledgers (what they hold for their
    bookings is released)."""
    for chunk in chunks(invoice_ids):
        for invoice in db.session.scalars(select(Invoice).where(Invoice.id.in_(chunk)).options(
                selectinload(Invoice.lines))):
            groups.charge(invoice.project_id, invoice_id=invoice.id,
                          amount_fen=invoice.amount_due_fen,
                          booking_ids=sorted({li.booking_id for li in invoice.lines
                                              if li.booking_id}),
                          description=invoice.number or "", **charged_on(invoice))


def charged_on(invoice: Invoice) -> dict:
    """The instrument and category a project's charge (and any credit back) is booked on:
    its first line's, which the project's limits count."""
    first = invoice.lines[0] if invoice.lines else None
    instrument = first.instrument if first is not None else None
    return {"instrument_id": first.instrument_id if first is not None else None,
            "category": (instrument.category or "") if instrument is not None else ""}


class IssuingBatch:
    """Enterprise invoices about to be issued, as `invoice_issuing`'s sender: their customers'
    ids at no cost, and the invoices themselves (lines and customer loaded) only for the
    customers a receiver asks about: most hold no voucher, and a month close need not load
    their invoices. Iterating gives them all."""

    def __init__(self, customer_of: dict[int, int]):  # invoice id -> customer organisation id
        self.customer_of = customer_of
        self.customers = set(customer_of.values())

    def invoices(self, customers: set[int] | None = None) -> list[Invoice]:
        ids = [i for i, customer in self.customer_of.items()
               if customers is None or customer in customers]
        return db.session.scalars(select(Invoice).where(Invoice.id.in_(ids)).options(
            joinedload(Invoice.customer_org), selectinload(Invoice.lines))).all() if ids else []

    def __iter__(self):
        return iter(self.invoices())


def _ask_for_vouchers(rows: list[dict]) -> int:
    """Innovation vouchers pay part of enterprises' invoices only: others are not asked.
    `rows`: the column values of the invoices being issued. Returns what the shares took off
    their amounts due."""
    if not rows or not invoice_issuing.receivers:
        return 0
    subtotals, deducted = {row["id"]: row["subtotal_fen"] for row in rows}, 0
    for chunk in chunks(rows):
        offers: dict[int, list[int]] = defaultdict(list)
        batch = IssuingBatch({row["id"]: row["customer_org_id"] for row in chunk})
        for _receiver, answer in invoice_issuing.send(batch):
            for invoice_id, fen in (answer or {}).items():
                offers[invoice_id].append(int(fen))
        deducted += _deduct([(subtotals[invoice_id], invoice_id, fens)
                             for invoice_id, fens in offers.items() if any(fens)])
    return deducted


def _deduct(offers: list[tuple[int, int, list[int]]]) -> int:
    """Write the voucher shares offered, (subtotal, invoice id, offers) each, into invoices
    being issued: one executemany UPDATE, past the ORM's guard of issued invoices, for this
    is the last step of issuing them. Returns what they took off the amounts due."""
    if not offers:
        return 0
    table = Invoice.__table__
    values, deducted = [], 0
    for subtotal, invoice_id, fens in offers:
        _subtotal, voucher, due = rules.totals([subtotal], fens)
        values.append({"invoice_id": invoice_id, "voucher": voucher, "due": due})
        deducted += subtotal - due
    db.session.execute(update(table).where(table.c.id == bindparam("invoice_id")).values(
        voucher_fen=bindparam("voucher"), amount_due_fen=bindparam("due")), values)
    for invoice_id in (v["invoice_id"] for v in values):  # loaded ones read it again
        invoice = db.session.identity_map.get(db.session.identity_key(Invoice, invoice_id))
        if invoice is not None:
            db.session.expire(invoice)
    return deducted


def invoice_booking(booking: Booking) -> Invoice | None:
    """Invoice a completed booking's uncharged sessions and samples now (external customers)."""
    if booking.state != "completed":
        return None
    facts = booking_facts(booking.id)
    # internal users are invoiced at the month close, unless a project account pays: then
    # at once, so that the project's budget shows what was spent
    if not facts or (facts[0].customer_class == "internal" and booking.project_id is None):
        return None
    ids = issue(make_drafts(facts, period=None)).ids
    if not ids:
        return None
    invoice = db.session.get(Invoice, ids[0])
    audit.record("invoice.issued", obj=invoice, booking_id=booking.id,
                 amount_due_fen=invoice.amount_due_fen)
    notifications.notify_invoice_issued(invoice)
    return invoice


def invoice_completed_booking(sender, session: UsageSession, **extra) -> None:
    """Receiver of metering's `session_closed` (wired in booking.billing.connect_signals)."""
    if session.booking is not None:
        invoice_booking(session.booking)


# --- corrections: void and credit notes --------------------------------------------------------
def void_invoice(invoice: Invoice, actor: User, reason: str) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise BillingRefused.one("reason_required", _l("Give a reason for voiding the invoice."))
    if invoice.payments:
        raise BillingRefused.one(
            "has_payments", _l("A paid invoice is corrected with a credit note, not voided."))
    if not invoice.is_voidable:
        raise BillingRefused.one("not_voidable",
                                 _l("Only a draft or issued invoice can be voided."))
    rules.INVOICE_MOVES.check(invoice.state, "void")
    charged = invoice.state == "issued" and invoice.project_id is not None
    invoice.state, invoice.voided_at, invoice.void_reason = "void", now_utc(), reason[:500]
    if charged:  # the project gets back what the invoice charged it
        groups.credit(invoice.project_id, invoice_id=invoice.id,
                      amount_fen=invoice.amount_due_fen, description=f"void {invoice.number}",
                      charged_invoice_id=invoice.id)
    audit.record("invoice.voided", actor=actor, obj=invoice, reason=reason[:500])


def credited_fen(invoice: Invoice) -> int:
    return int(db.session.scalar(select(func.coalesce(func.sum(Invoice.amount_due_fen), 0))
                                 .where(Invoice.credits_id == invoice.id,
                                        Invoice.state != "void")))


def _deduct_credit(invoice: Invoice, note: Invoice, amount_fen: int, actor: User | None) -> None:
    """Set `amount_fen` of the credit note against its open invoice: a payment of kind
    credit_note on each, naming the other; each turns paid once its payments cover it."""
    if amount_fen <= 0:
        return
    today = local_today()
    for document, other in ((invoice, note), (note, invoice)):
        db.session.add(Payment(invoice=document, method="credit_note", amount_fen=amount_fen,
                               reference=other.number or "", received_on=today,
                               recorded_by_id=actor.id if actor else None))
        settle_if_covered(document)
    db.session.flush()


def settle_if_covered(document: Invoice) -> None:
    """An invoice (or credit note) turns paid once its payments cover what it is for."""
    if document.paid_fen >= document.amount_due_fen:
        document.state, document.paid_at = "paid", now_utc()


def charged_project(invoice: Invoice) -> int | None:
    """The project account (经费卡) that paid the invoice: charged at issue (the invoice's
    project), or when it was settled by internal transfer (the payment's)."""
    if invoice.project_id is not None:
        return invoice.project_id
    return next((p.project_id for p in invoice.payments if p.project_id is not None), None)


def credit_note(invoice: Invoice, amount_fen: int, reason: str, actor: User | None,
                settled: bool = False) -> Invoice:
    """A credit note giving back `amount_fen` of an issued or paid invoice (positive amounts,
    kind credit_note). `settled`: the money already went back (a Stripe refund). While the
    invoice is open, the note is deducted from what is left to pay on it (the customer pays
    less rather than paying in full and waiting for a refund); what exceeds that is refunded."""
    if invoice.kind != "invoice" or invoice.state not in ("issued", "paid"):
        raise BillingRefused.one("not_creditable",
                                 _l("Only an issued or paid invoice can be credited."))
    left = invoice.amount_due_fen - credited_fen(invoice)
    if not 0 < amount_fen <= left:
        raise BillingRefused.one(
            "credit_too_large",
            _l("The credit must be positive and at most %(left)s, what is left to credit."),
            left=format_cny(left))
    now = now_utc()
    # Written through the ORM (not issue's bulk path): other areas follow new credit
    # notes in before_flush (the subsidies area releases voucher shares on full refunds).
    project_id = charged_project(invoice)
    note = Invoice(provider_id=invoice.provider_id, customer_org_id=invoice.customer_org_id,
                   customer_user_id=invoice.customer_user_id, kind="credit_note",
                   project_id=project_id,
                   credits_id=invoice.id, customer_class=invoice.customer_class,
                   number=_numbers([invoice.provider_id], now.year)[0], subtotal_fen=amount_fen,
                   voucher_fen=0, amount_due_fen=amount_fen, **_issued(now))
    note.lines.append(InvoiceLine(kind="credit", description=(reason or "Credit")[:300],
                                  amount_fen=amount_fen, quantity=Decimal(1),
                                  unit_price_fen=amount_fen))
    db.session.add(note)
    db.session.flush()
    deducted = 0
    if not settled and invoice.state == "issued":
        # (an invoice charged to a project at issue too: its transfer is then that much less)
        deducted = rules.credit_deduction(amount_fen, invoice.outstanding_fen)
        _deduct_credit(invoice, note, deducted, actor)
    if note.state != "paid" and (settled or project_id is not None):
        note.state, note.paid_at = "paid", now  # refunded, or given back to the project at once
    audit.record("invoice.credited", actor=actor, obj=note, credits=invoice.id,
                 amount_fen=amount_fen, deducted_fen=deducted, reason=reason[:300])
    if project_id is not None:  # the project gets it back
        groups.credit(project_id, invoice_id=note.id, amount_fen=amount_fen,
                      description=note.number or "", charged_invoice_id=invoice.id)
    invoice_credited.send(note)
    notifications.notify_credit_note(note)
    return note
