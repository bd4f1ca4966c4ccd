"""Billing workflows: quotes, invoices (per booking and monthly), credit notes, payments and
Stripe webhooks. Quotes and invoices use the same pure pricing functions (booking.billing.rules).
They flush, never commit: the route or CLI command commits once.

Voucher deductions: billing never imports the subsidies area. When invoices are issued, the
`invoice_issuing` signal is sent once per batch of up to 1,000 invoices of enterprise customers
(sender: the list of Invoices, still drafts with their ids, lines and subtotals, customer_org
loaded). A receiver returns {invoice_id: fen} for the voucher amounts it commits to pay (and
records its own redemptions referring to the invoice ids); answers are summed per invoice and
clamped to the subtotal by rules.totals, so without receivers the voucher share is 0. One
signal per batch, not per invoice, keeps a month close set-based: the receiver looks up the
vouchers of a whole batch in one query.
"""
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

from blinker import Namespace
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import and_, exists, func, insert, or_, select, text, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased, joinedload, selectinload

from booking.accounts.models import Organisation, User
from booking.billing import rules, stripe_gateway
from booking.billing.models import Invoice, InvoiceCounter, InvoiceLine, Payment, ProcessedStripeEvent
from booking.bookings.models import Booking
from booking.core import audit
from booking.core.clock import now_utc, to_local
from booking.core.db import MAX_ID
from booking.core.money import format_cny
from booking.core.notifications import queue_message, queue_messages
from booking.core.problems import _l
from booking.extensions import db
from booking.instruments.models import Blackout, Instrument, Rate
from booking.instruments.rules import customer_class
from booking.metering.models import UsageSession
from booking.metering.rules import used_minutes
from booking.metering.services import session_closed

signals = Namespace()
#: Sent per batch of invoices about to be issued; receivers return {invoice_id: fen} (see above).
invoice_issuing = signals.signal("invoice-issuing")
#: Sent per quote (sender: the instrument; user, fee_fen, mode as keywords); receivers return
#: the share in fen a voucher would pay. Nothing is reserved: a quote is only a forecast.
quote_requested = signals.signal("quote-requested")


class NoRate(Exception):
    """The instrument has no rate for this customer class at that time."""


class BillingRefused(Exception):
    """A billing action is not allowed; the message is an English msgid for the person."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


# --- pricing -----------------------------------------------------------------------------------
def _card(rate: Rate) -> rules.RateCard:
    return rules.RateCard(rate.customer_class, rate.hourly_fen, rate.rounding_minutes,
                          rate.minimum_minutes, rate.setup_fee_fen, rate.valid_from)


def rate_cards(instrument: Instrument) -> list[rules.RateCard]:
    return [_card(r) for r in instrument.rates]


def rate_cards_for(instrument_ids: Iterable[int]) -> dict[int, list[rules.RateCard]]:
    """Every rate of these instruments in one query."""
    cards: dict[int, list[rules.RateCard]] = defaultdict(list)
    ids = list(set(instrument_ids))
    for start in range(0, len(ids), 500):
        for rate in db.session.scalars(select(Rate).where(
                Rate.instrument_id.in_(ids[start:start + 500]))):
            cards[rate.instrument_id].append(_card(rate))
    return cards


def customer_class_for(instrument: Instrument, user: User) -> str:
    return customer_class(instrument.organisation_id, user.organisation_id,
                          user.organisation.kind)


def quote_booking(instrument: Instrument, user: User, start: datetime, end: datetime,
                  mode: str = "self_operated", samples: int = 0) -> rules.Quote:
    """Fee for booking [start, end) at the user's customer class, plus the per-sample fee of
    a staff-operated (送样) booking's samples, with the voucher share of that total that
    answers to `quote_requested` offer (the subsidies area)."""
    klass = customer_class_for(instrument, user)
    card = rules.rate_at(rate_cards(instrument), klass, start)
    if card is None:
        raise NoRate(klass)
    minutes = int((end - start).total_seconds() // 60)
    samples = samples if mode == "staff_operated" else 0
    fee = rules.usage_fee_fen(minutes, card) + rules.samples_fee_fen(
        samples, instrument.per_sample_fee_fen)
    offers = quote_requested.send(instrument, user=user, fee_fen=fee, mode=mode)
    return rules.quote(card, minutes, sum(int(answer or 0) for _receiver, answer in offers),
                       samples=samples, per_sample_fee_fen=instrument.per_sample_fee_fen)


class Fact(NamedTuple):
    """One chargeable fact (a session, a penalised booking or the samples of a staff-operated
    booking) with what pricing needs. A named tuple: month closes and exports build one per
    session."""

    kind: str
    instrument_id: int
    provider_id: int
    customer_org_id: int
    customer_kind: str
    user_id: int
    start: datetime
    end: datetime
    instrument_name: str
    booking_id: int | None = None
    session_id: int | None = None
    fraction: Decimal = Decimal(0)
    waived: bool = False
    samples: int = 0  # kind "samples": how many, at the instrument's fee per sample
    per_sample_fen: int = 0

    @property
    def customer_class(self) -> str:
        return customer_class(self.provider_id, self.customer_org_id, self.customer_kind)


class Price(NamedTuple):
    customer_class: str
    billable_minutes: int
    hourly_fen: int | None  # samples: the fee per sample
    amount_fen: int | None
    used_minutes: int = 0


def price(fact: Fact, cards: list[rules.RateCard]) -> Price | None:
    """The fact priced by the card of its customer class in force at its start (None: no rate);
    samples are priced by the instrument's fee per sample, whatever the card."""
    klass = fact.customer_class
    if fact.kind == "samples":
        return Price(klass, 0, fact.per_sample_fen,
                     rules.samples_fee_fen(fact.samples, fact.per_sample_fen))
    card = rules.rate_at(cards, klass, fact.start)
    if card is None:
        return None
    minutes = used_minutes(fact.start, fact.end)
    if fact.kind == "usage":
        return Price(klass, rules.billable_minutes(minutes, card.rounding_minutes,
                                                   card.minimum_minutes),
                     card.hourly_fen, rules.usage_fee_fen(minutes, card), minutes)
    return Price(klass, minutes, card.hourly_fen,
                 rules.penalty_fee_fen(minutes, card, fact.fraction, fact.waived), minutes)


def price_line(fact: Fact, cards: list[rules.RateCard]) -> dict | None:
    """An invoice line (as column values) for a fact, or None when there is no rate."""
    priced = price(fact, cards)
    if priced is None:
        return None
    quantity = Decimal(fact.samples) if fact.kind == "samples" else \
        Decimal(priced.billable_minutes) / 60
    return {"kind": fact.kind, "description": _description(fact),
            "minutes": priced.billable_minutes, "quantity": quantity.quantize(Decimal("0.01")),
            "unit_price_fen": priced.hourly_fen, "amount_fen": priced.amount_fen,
            "instrument_id": fact.instrument_id, "booking_id": fact.booking_id,
            "usage_session_id": fact.session_id, "service_at": fact.start}


def billable_minutes_of_bookings(booking_ids: list[int]) -> dict[int, int]:
    """Billable minutes per booking from its effective, ended usage sessions (set-based)."""
    if not booking_ids:
        return {}
    facts = _usage_facts(UsageSession.booking_id.in_(booking_ids), uncharged_only=False)
    cards = rate_cards_for({fact.instrument_id for fact in facts})
    minutes: dict[int, int] = defaultdict(int)
    for fact in facts:
        priced = price(fact, cards.get(fact.instrument_id, []))
        if priced is not None:
            minutes[fact.booking_id] += priced.billable_minutes
    return dict(minutes)


def _description(fact: Fact) -> str:
    """Instrument and local start; the invoice page adds the translated kind (no-show...)."""
    local = fact.start.astimezone(ZoneInfo("Asia/Shanghai"))
    return f"{fact.instrument_name} {local:%Y-%m-%d %H:%M}"[:300]


# --- loading facts (set-based) -------------------------------------------------------------------
def _usage_facts(where, uncharged_only: bool = True) -> list[Fact]:
    """Effective, ended sessions matching `where` (by default only those that no invoice line
    charges yet)."""
    customer = aliased(Organisation)
    booker = aliased(User)
    billed = exists().where(InvoiceLine.usage_session_id == UsageSession.id,
                            InvoiceLine.kind == "usage")
    customer_org = func.coalesce(Booking.organisation_id, booker.organisation_id)
    # Plain rows on the connection (no ORM result processing): exports read 50,000 at a time.
    rows = db.session.connection().execute(
        select(UsageSession.id, UsageSession.instrument_id, Instrument.organisation_id,
               customer.id, customer.kind, UsageSession.user_id, UsageSession.started_at,
               UsageSession.ended_at, Instrument.name_zh, UsageSession.booking_id)
        .join(Instrument, Instrument.id == UsageSession.instrument_id)
        .join(booker, booker.id == UsageSession.user_id)
        .outerjoin(Booking, Booking.id == UsageSession.booking_id)
        .join(customer, customer.id == customer_org)
        .where(where, UsageSession.ended_at.is_not(None), UsageSession.effective_clause(),
               ~billed if uncharged_only else true())
        .order_by(UsageSession.started_at, UsageSession.id))
    return [Fact("usage", r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[0])
            for r in rows]  # positional: keyword arguments make a named tuple twice as slow


def _penalty_facts(start: datetime, end: datetime) -> list[Fact]:
    """No-shows and late cancellations of the period not charged yet, with their waiver:
    the instrument was down (blackout) or someone else used the freed slot."""
    down = exists().where(Blackout.instrument_id == Booking.instrument_id,
                          Blackout.start_at < Booking.end_at, Blackout.end_at > Booking.start_at)
    reused = exists().where(UsageSession.instrument_id == Booking.instrument_id,
                            UsageSession.started_at < Booking.end_at,
                            UsageSession.ended_at > Booking.start_at,
                            or_(UsageSession.booking_id.is_(None),
                                UsageSession.booking_id != Booking.id))
    # The kinds as literal SQL: only then may SQLite use the partial unique index on
    # (booking_id) WHERE kind IN ('no_show', 'late_cancel'); with bound parameters it scanned
    # every invoice line once per penalised booking (0.75 s a month at city scale, 7 ms now).
    charged = exists().where(InvoiceLine.booking_id == Booking.id,
                             text("invoice_lines.kind IN ('no_show', 'late_cancel')"))
    rows = db.session.execute(
        select(Booking, Instrument, Organisation.kind, down, reused)
        .join(Instrument, Instrument.id == Booking.instrument_id)
        .join(Organisation, Organisation.id == Booking.organisation_id)
        .where(Booking.start_at >= start, Booking.start_at < end, ~charged,
               or_(Booking.state == "no_show",
                   and_(Booking.state == "cancelled", Booking.late_cancel.is_(True)))))
    facts = []
    for booking, instrument, kind, was_down, was_reused in rows:
        no_show = booking.state == "no_show"
        fraction = instrument.no_show_fraction if no_show else instrument.late_cancel_fraction
        facts.append(Fact("no_show" if no_show else "late_cancel", instrument.id,
                          instrument.organisation_id, booking.organisation_id, kind,
                          booking.user_id, booking.start_at, booking.end_at, instrument.name_zh,
                          booking_id=booking.id, fraction=Decimal(fraction),
                          waived=bool(was_down or was_reused or instrument.status != "active")))
    return facts


def _samples_facts(where) -> list[Fact]:
    """The samples of completed staff-operated (送样) bookings matching `where`, on
    instruments with a fee per sample, not charged yet (the fee as the instrument states it
    now)."""
    charged = exists().where(InvoiceLine.booking_id == Booking.id, InvoiceLine.kind == "samples")
    rows = db.session.execute(
        select(Booking.id, Booking.instrument_id, Instrument.organisation_id,
               Booking.organisation_id, Organisation.kind, Booking.user_id, Booking.start_at,
               Booking.end_at, Instrument.name_zh, Booking.sample_count,
               Instrument.per_sample_fee_fen)
        .join(Instrument, Instrument.id == Booking.instrument_id)
        .join(Organisation, Organisation.id == Booking.organisation_id)
        .where(where, Booking.state == "completed", Booking.mode == "staff_operated",
               Booking.sample_count > 0, Instrument.per_sample_fee_fen > 0, ~charged)
        .order_by(Booking.start_at, Booking.id))
    return [Fact("samples", r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], booking_id=r[0],
                 samples=r[9], per_sample_fen=r[10]) for r in rows]


# --- creating and issuing invoices ---------------------------------------------------------------
@dataclass
class Draft:
    """An invoice to create: its column values and its lines' column values."""

    values: dict
    lines: list[dict]


def _drafts(facts: list[Fact], period: str | None,
            progress: Callable[[int], None] | None = None) -> list[Draft]:
    """Priced facts grouped into one draft per provider, customer organisation and user."""
    cards = rate_cards_for(f.instrument_id for f in facts)
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for fact in facts:
        line = price_line(fact, cards.get(fact.instrument_id, []))
        if line is not None:
            groups[(fact.provider_id, fact.customer_org_id, fact.user_id,
                    fact.customer_class)].append(line)
        if progress:
            progress(1)
    return [Draft({"provider_id": p, "customer_org_id": c, "customer_user_id": u,
                   "customer_class": k, "period": period, "kind": "invoice"}, lines)
            for (p, c, u, k), lines in groups.items()]


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


def _chunks(items: list, size: int = 1000):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def create_invoices(drafts: list[Draft], now: datetime | None = None) -> list[int]:
    """Insert, number, ask for voucher shares and issue, set-based (a few statements per
    thousand invoices); returns the new invoice ids. Issued invoices are immutable."""
    if not drafts:
        return []
    now = now or now_utc()
    rows = []
    numbers = _numbers([d.values["provider_id"] for d in drafts], now.year)
    for draft, number in zip(drafts, numbers, strict=True):
        subtotal = sum(line["amount_fen"] for line in draft.lines)
        rows.append({**draft.values, "number": number, "state": "draft", "created_at": now,
                     "subtotal_fen": subtotal, "voucher_fen": 0, "amount_due_fen": subtotal})
    db.session.execute(insert(Invoice), rows)
    ids = _ids_of(rows)
    lines = [{**line, "invoice_id": invoice_id}
             for invoice_id, draft in zip(ids, drafts, strict=True) for line in draft.lines]
    for chunk in _chunks(lines, 5000):
        # Plain executemany, no RETURNING: psycopg 3 pipelines it (100,000 lines: 1.5 s against
        # 4.1 s for multi-row VALUES with RETURNING, which psycopg re-parses uncached).
        db.session.execute(insert(InvoiceLine), chunk)
    _ask_for_vouchers([i for i, row in zip(ids, rows, strict=True)
                       if row["kind"] == "invoice" and row["customer_class"] == "enterprise"])
    _issue(ids, now)
    return ids


def _ids_of(rows: list[dict]) -> list[int]:
    """Ids of just-inserted invoices, in the order of `rows`, by their unique (provider, number).
    Cheaper than INSERT ... RETURNING in parameter order, which SQLite runs row by row."""
    found = {}
    for chunk in _chunks(rows):
        found.update(((p, n), i) for i, p, n in db.session.execute(
            select(Invoice.id, Invoice.provider_id, Invoice.number)
            .where(Invoice.number.in_([row["number"] for row in chunk]))))
    return [found[(row["provider_id"], row["number"])] for row in rows]


def _ask_for_vouchers(invoice_ids: list[int]) -> None:
    """Innovation vouchers pay part of enterprises' invoices only: others are not asked."""
    if not invoice_ids or not invoice_issuing.receivers:
        return
    for chunk in _chunks(invoice_ids):
        invoices = db.session.scalars(select(Invoice).where(Invoice.id.in_(chunk)).options(
            joinedload(Invoice.customer_org), selectinload(Invoice.lines))).all()
        offers: dict[int, list[int]] = defaultdict(list)
        for _receiver, answer in invoice_issuing.send(invoices):
            for invoice_id, fen in (answer or {}).items():
                offers[invoice_id].append(int(fen))
        for invoice in invoices:
            if any(offers.get(invoice.id, ())):
                invoice.subtotal_fen, invoice.voucher_fen, invoice.amount_due_fen = \
                    rules.totals([invoice.subtotal_fen], offers[invoice.id])
        db.session.flush()


def _issue(invoice_ids: list[int], now: datetime) -> None:
    due = now + timedelta(days=rules.PAYMENT_DAYS)
    for chunk in _chunks(invoice_ids):
        db.session.execute(update(Invoice).where(Invoice.id.in_(chunk), Invoice.state == "draft")
                           .values(state="issued", issued_at=now, due_at=due),
                           execution_options={"synchronize_session": "evaluate"})


def invoice_booking(booking: Booking) -> Invoice | None:
    """Invoice a completed booking's uncharged sessions and samples now (external customers)."""
    if booking.state != "completed":
        return None
    facts = _usage_facts(UsageSession.booking_id == booking.id) + \
        _samples_facts(Booking.id == booking.id)
    if not facts or facts[0].customer_class == "internal":
        return None
    ids = create_invoices(_drafts(facts, period=None))
    if not ids:
        return None
    invoice = db.session.get(Invoice, ids[0])
    audit.record("invoice.issued", obj=invoice, booking_id=booking.id,
                 amount_due_fen=invoice.amount_due_fen)
    _notify_issued(invoice)
    return invoice


def _notify_issued(invoice: Invoice) -> None:
    """Queue the customer's e-mail about an issued invoice, in their language."""
    user = invoice.customer_user
    if user is None:
        return
    with force_locale(user.locale):
        queue_message(**_issued_message(invoice, user))


def _issued_message(invoice: Invoice, user: User) -> dict:
    """The e-mail about an issued invoice; the caller has set the user's locale."""
    return {"recipient": user.email, "kind": "invoice.issued",
            "subject": _("Invoice %(number)s", number=invoice.number),
            "body": _("%(provider)s issued invoice %(number)s: %(amount)s due by %(due)s. "
                      "View, print and pay it under My invoices (/invoices/%(id)s).",
                      provider=invoice.provider.display_name(user.locale),
                      number=invoice.number, amount=format_cny(invoice.amount_due_fen),
                      due=to_local(invoice.due_at, user.timezone).strftime("%Y-%m-%d"),
                      id=invoice.id)}


def _notify_issued_many(invoice_ids: list[int]) -> int:
    """_notify_issued for a month close's invoices, set-based: per 1,000 invoices one query
    (with their customer and provider; the customers' roles, not needed, stay lazy), one
    locale switch per language and one executemany INSERT of the messages. Returns the
    invoices' total amount due."""
    total = 0
    for chunk in _chunks(invoice_ids):
        invoices = db.session.scalars(select(Invoice).where(Invoice.id.in_(chunk)).options(
            joinedload(Invoice.customer_user).lazyload(User.roles), joinedload(Invoice.provider))
            .order_by(Invoice.id)).all()
        by_locale: dict[str, list[Invoice]] = defaultdict(list)
        for invoice in invoices:
            total += invoice.amount_due_fen
            if invoice.customer_user is not None:
                by_locale[invoice.customer_user.locale].append(invoice)
        messages = []
        for locale, group in by_locale.items():
            with force_locale(locale):
                messages += [_issued_message(invoice, invoice.customer_user) for invoice in group]
        queue_messages(messages)
    return total


@session_closed.connect
def _invoice_completed_booking(sender, session: UsageSession, **extra) -> None:
    if session.booking is not None:
        invoice_booking(session.booking)


def month_bounds(month: str, tz: str = "Asia/Shanghai") -> tuple[datetime, datetime]:
    """[first instant, first instant of the next month) of YYYY-MM in local time, as UTC."""
    year, mon = (int(part) for part in month.split("-"))
    if not 1 <= mon <= 12 or year < 2000:
        raise ValueError(month)
    zone = ZoneInfo(tz)
    start = datetime(year, mon, 1, tzinfo=zone)
    end = datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC"))


@dataclass
class CloseResult:
    invoices: int
    lines: int
    amount_fen: int


def month_facts(month: str) -> list[Fact]:
    """Every uncharged effective session, penalty and staff-operated booking's samples of the
    month (a few set-based queries)."""
    start, end = month_bounds(month)
    facts = _usage_facts(and_(UsageSession.started_at >= start, UsageSession.started_at < end))
    return facts + _penalty_facts(start, end) + _samples_facts(
        and_(Booking.start_at >= start, Booking.start_at < end))


def close_month(month: str, facts: list[Fact] | None = None,
                progress: Callable[[int], None] | None = None,
                now: datetime | None = None, notify: bool = True) -> CloseResult:
    """Invoice the month's facts, one invoice per provider, customer and user, and queue an
    e-mail to each customer (`notify`; the demo's history sends none). Idempotent (charged
    facts are skipped, and unique indexes guard it); the caller commits once, so a crash
    leaves nothing half-done."""
    facts = month_facts(month) if facts is None else facts
    ids = create_invoices(_drafts(facts, period=month, progress=progress), now)
    if notify:
        total = _notify_issued_many(ids)
    else:
        total = sum(int(db.session.scalar(
            select(func.coalesce(func.sum(Invoice.amount_due_fen), 0))
            .where(Invoice.id.in_(chunk)))) for chunk in _chunks(ids))
    if ids:
        audit.record("billing.month_closed", month=month, invoices=len(ids), facts=len(facts),
                     amount_due_fen=total)
    return CloseResult(len(ids), len(facts), total)


# --- corrections: void and credit notes ----------------------------------------------------------
def void_invoice(invoice: Invoice, actor: User, reason: str) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise BillingRefused("reason_required", _l("Give a reason for voiding the invoice."))
    if invoice.payments:
        raise BillingRefused("has_payments",
                             _l("A paid invoice is corrected with a credit note, not voided."))
    rules.check_invoice_transition(invoice.state, "void")
    invoice.state, invoice.voided_at, invoice.void_reason = "void", now_utc(), reason[:500]
    audit.record("invoice.voided", actor=actor, obj=invoice, reason=reason[:500])


def credited_fen(invoice: Invoice) -> int:
    return int(db.session.scalar(select(func.coalesce(func.sum(Invoice.amount_due_fen), 0))
                                 .where(Invoice.credits_id == invoice.id,
                                        Invoice.state != "void")))


def credit_note(invoice: Invoice, amount_fen: int, reason: str, actor: User | None,
                settled: bool = False) -> Invoice:
    """A credit note giving back `amount_fen` of an issued or paid invoice (positive amounts,
    kind credit_note). `settled`: the money already went back (a Stripe refund)."""
    if invoice.kind != "invoice" or invoice.state not in ("issued", "paid"):
        raise BillingRefused("not_creditable", _l("Only an issued or paid invoice can be credited."))
    if not 0 < amount_fen <= invoice.amount_due_fen - credited_fen(invoice):
        raise BillingRefused("credit_too_large",
                             _l("The credit must be positive and at most what is left to credit."))
    now = now_utc()
    # Written through the ORM (not create_invoices' bulk path): other areas follow new credit
    # notes in before_flush (the subsidies area releases voucher shares on full refunds).
    note = Invoice(provider_id=invoice.provider_id, customer_org_id=invoice.customer_org_id,
                   customer_user_id=invoice.customer_user_id, kind="credit_note",
                   credits_id=invoice.id, customer_class=invoice.customer_class, state="draft",
                   number=_numbers([invoice.provider_id], now.year)[0], subtotal_fen=amount_fen,
                   voucher_fen=0, amount_due_fen=amount_fen)
    note.lines.append(InvoiceLine(kind="credit", description=(reason or "Credit")[:300],
                                  amount_fen=amount_fen, quantity=Decimal(1),
                                  unit_price_fen=amount_fen))
    db.session.add(note)
    db.session.flush()
    _issue([note.id], now)
    if settled:
        note.state, note.paid_at = "paid", now
    audit.record("invoice.credited", actor=actor, obj=note, credits=invoice.id,
                 amount_fen=amount_fen, reason=reason[:300])
    return note


# --- payments ------------------------------------------------------------------------------------
def _mark_paid(invoice: Invoice, method: str, amount_fen: int, *, actor: User | None,
               external_id: str | None = None, reference: str = "") -> Payment:
    rules.check_invoice_transition(invoice.state, "paid")
    payment = Payment(invoice=invoice, method=method, amount_fen=amount_fen,
                      external_id=external_id, reference=reference[:200],
                      recorded_by_id=actor.id if actor else None)
    db.session.add(payment)
    invoice.state, invoice.paid_at, invoice.payment_error = "paid", now_utc(), ""
    db.session.flush()
    audit.record("invoice.paid", actor=actor, obj=invoice, method=method, amount_fen=amount_fen,
                 external_id=external_id)
    return payment


def record_bank_transfer(invoice: Invoice, actor: User, reference: str) -> Payment:
    """Finance staff saw the full amount arrive on the provider's account."""
    if not invoice.is_payable:
        raise BillingRefused("not_payable", _l("This invoice is not open for payment."))
    return _mark_paid(invoice, "bank_transfer", invoice.amount_due_fen, actor=actor,
                      reference=reference)


def settle_internal(invoice: Invoice, actor: User, grant_code: str) -> Payment:
    """Internal customers settle against an internal account or grant code."""
    if invoice.customer_class != "internal":
        raise BillingRefused("not_internal",
                             _l("Only invoices of internal users settle against a grant code."))
    if not invoice.is_payable:
        raise BillingRefused("not_payable", _l("This invoice is not open for payment."))
    if not grant_code.strip():
        raise BillingRefused("grant_required", _l("Enter the account or grant code to charge."))
    return _mark_paid(invoice, "internal", invoice.amount_due_fen, actor=actor,
                      reference=grant_code.strip())


def payment_intent_for(invoice: Invoice, actor: User) -> tuple[str, str]:
    """(client_secret, publishable_key) of the invoice's PaymentIntent, reused while open."""
    if not stripe_gateway.enabled():
        raise BillingRefused("stripe_disabled", _l("Card payment is not available."))
    if not invoice.is_payable:
        raise BillingRefused("not_payable", _l("This invoice is not open for payment."))
    intent = stripe_gateway.open_intent(invoice.stripe_payment_intent_id, invoice.amount_due_fen)
    if intent is None:
        intent = stripe_gateway.create_intent(invoice.id, invoice.number, invoice.amount_due_fen)
        invoice.stripe_payment_intent_id = intent["id"]
        audit.record("invoice.payment_intent", actor=actor, obj=invoice,
                     payment_intent=intent["id"])
    return intent["client_secret"], stripe_gateway.publishable_key()


# --- Stripe webhooks -----------------------------------------------------------------------------
def already_processed(event_id: str) -> bool:
    return db.session.get(ProcessedStripeEvent, event_id) is not None


def handle_stripe_event(event: dict) -> str:
    """Apply a verified event exactly once; returns what happened. Raises BillingRefused
    (nothing changed) for an unknown invoice or an amount/currency mismatch."""
    if already_processed(event["id"]):
        return "duplicate"
    handler = _HANDLERS.get(event["type"])
    outcome = handler(event["data"]["object"]) if handler else "ignored"
    db.session.add(ProcessedStripeEvent(event_id=event["id"], type=event["type"][:64]))
    db.session.flush()
    return outcome


def _invoice_of_intent(intent: dict) -> Invoice:
    raw = str((intent.get("metadata") or {}).get("invoice_id", ""))
    invoice = db.session.get(Invoice, int(raw)) if raw.isdigit() and int(raw) <= MAX_ID \
        else None
    if invoice is None:
        raise BillingRefused("unknown_invoice", f"No invoice {raw!r} for {intent.get('id')}.")
    return invoice


def _on_succeeded(intent: dict) -> str:
    invoice = _invoice_of_intent(intent)
    if invoice.state == "paid" and any(p.external_id == intent["id"] for p in invoice.payments):
        return "already_paid"
    received = stripe_gateway.amount_received(intent)
    if not rules.payment_matches(invoice.amount_due_fen, received,
                                 str(intent.get("currency", ""))):
        raise BillingRefused("amount_mismatch",
                             f"{intent['id']} paid {received} "
                             f"{intent.get('currency')} for invoice {invoice.number} of "
                             f"{invoice.amount_due_fen} cny.")
    if invoice.state != "issued":
        raise BillingRefused("not_payable", f"Invoice {invoice.number} is {invoice.state}.")
    _mark_paid(invoice, "stripe", invoice.amount_due_fen, actor=None, external_id=intent["id"])
    return "paid"


def _on_failed(intent: dict) -> str:
    invoice = _invoice_of_intent(intent)
    error = intent.get("last_payment_error") or {}
    if invoice.state == "issued":
        invoice.payment_error = str(error.get("message") or "The payment failed.")[:500]
    audit.record("invoice.payment_failed", obj=invoice, payment_intent=intent["id"])
    return "failed"


def _on_refunded(charge: dict) -> str:
    invoice = db.session.scalar(select(Invoice).join(Payment).where(
        Payment.external_id == charge.get("payment_intent")))
    if invoice is None:
        raise BillingRefused("unknown_invoice", f"No invoice paid by {charge.get('id')}.")
    delta = int(charge.get("amount_refunded") or 0) - credited_fen(invoice)
    if delta <= 0:
        return "already_credited"
    credit_note(invoice, delta, f"Card refund {charge.get('id')}", actor=None, settled=True)
    return "credited"


_HANDLERS = {"payment_intent.succeeded": _on_succeeded,
             "payment_intent.payment_failed": _on_failed,
             "charge.refunded": _on_refunded}


# --- queries for pages ---------------------------------------------------------------------------
def invoices_of(user: User, page: int = 1, per_page: int = 20) -> tuple[list[Invoice], int]:
    """The user's invoices: issued to them, or to their organisation without a named user."""
    where = and_(Invoice.state != "draft", or_(
        Invoice.customer_user_id == user.id,
        and_(Invoice.customer_user_id.is_(None), Invoice.customer_org_id == user.organisation_id)))
    total = db.session.scalar(select(func.count()).select_from(Invoice).where(where))
    items = db.session.scalars(select(Invoice).where(where).order_by(
        Invoice.issued_at.desc(), Invoice.id.desc()).offset((page - 1) * per_page)
        .limit(per_page)).all()
    return list(items), total


def finance_organisations(user: User) -> list[Organisation]:
    ids = {r.organisation_id for r in user.roles if r.name == "finance"}
    return list(db.session.scalars(select(Organisation).where(Organisation.id.in_(ids))
                                   .order_by(Organisation.name_zh)))


def open_invoices(provider_id: int) -> list[Invoice]:
    """Issued invoices with something to pay (an invoice of waived charges only is not open)."""
    return list(db.session.scalars(select(Invoice).where(
        Invoice.provider_id == provider_id, Invoice.state == "issued",
        Invoice.kind == "invoice", Invoice.amount_due_fen > 0).order_by(Invoice.due_at, Invoice.id)))


def _year_bounds(year: int) -> tuple[datetime, datetime]:
    return month_bounds(f"{year}-01")[0], month_bounds(f"{year}-12")[1]


def revenue(provider_id: int, year: int, tz: str = "Asia/Shanghai") -> list[dict]:
    """Invoiced amounts (issued or paid invoices, before voucher deduction) by local month of
    service, instrument and customer class."""
    start, end = _year_bounds(year)
    rows = db.session.execute(
        select(InvoiceLine.service_at, Instrument.id, Instrument.name_zh, Invoice.customer_class,
               InvoiceLine.minutes, InvoiceLine.amount_fen)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .join(Instrument, Instrument.id == InvoiceLine.instrument_id)
        .where(Invoice.provider_id == provider_id, Invoice.kind == "invoice",
               Invoice.state.in_(("issued", "paid")), InvoiceLine.service_at >= start,
               InvoiceLine.service_at < end))
    zone = ZoneInfo(tz)
    totals: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    for at, instrument_id, name, klass, minutes, amount in rows:
        entry = totals[(at.astimezone(zone).strftime("%Y-%m"), name, instrument_id, klass)]
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
    start, end = _year_bounds(year)
    facts = _usage_facts(and_(Instrument.organisation_id == provider_id,
                              UsageSession.started_at >= start, UsageSession.started_at < end),
                         uncharged_only=False)
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
