"""Chargeable facts, loaded set-based: ended effective usage sessions, no-shows and late
cancellations, and the samples of staff-operated (送样) bookings, each with what pricing needs.
Metering records what happened; billing reads it here and prices it (pricing.py)."""
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from flask_babel import gettext
from sqlalchemy import and_, exists, or_, select, text, true
from sqlalchemy.orm import aliased, selectinload

from booking.accounts.models import Organisation
from booking.billing.models import Invoice, InvoiceLine
from booking.billing.rules import INVOICE_STATE_WORDS
from booking.bookings.models import Booking
from booking.extensions import db
from booking.instruments.models import Blackout, Instrument
from booking.instruments.rules import customer_class
from booking.metering.models import Charge, UsageSession


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
    project_id: int | None = None  # the project account (经费卡) the booking is charged to

    @property
    def customer_class(self) -> str:
        return customer_class(self.provider_id, self.customer_org_id, self.customer_kind)


def usage_facts(where, uncharged_only: bool = True) -> list[Fact]:
    """Effective, ended sessions matching `where` (by default only those that no invoice line
    charges yet)."""
    customer = aliased(Organisation)
    billed = exists().where(InvoiceLine.usage_session_id == UsageSession.id,
                            InvoiceLine.kind == "usage")
    # Plain rows on the connection (no ORM result processing): exports read 50,000 at a time.
    rows = db.session.connection().execute(
        select(UsageSession.id, UsageSession.instrument_id, Instrument.organisation_id,
               customer.id, customer.kind, UsageSession.user_id, UsageSession.started_at,
               UsageSession.ended_at, Instrument.name_zh, UsageSession.booking_id,
               Booking.project_id)
        .join(Instrument, Instrument.id == UsageSession.instrument_id)
        .outerjoin(Booking, Booking.id == UsageSession.booking_id)
        .join(customer, customer.id == UsageSession.customer_org_id)
        .where(where, UsageSession.ended_at.is_not(None), UsageSession.effective_clause(),
               and_(~billed, Booking.billed_separately.is_not(True)) if uncharged_only
               else true())
        .order_by(UsageSession.started_at, UsageSession.id))
    return [Fact("usage", r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[0],
                 Decimal(0), False, 0, 0, r[10])
            for r in rows]  # positional: keyword arguments make a named tuple twice as slow


def answer_sessions_charged(session_ids: list[int], **_extra) -> dict[int, Charge]:
    """Receiver of metering's `sessions_charged`: the sessions an invoice line charges (a
    void invoice's too: usage_facts never charges them again), with the line's amount and
    its invoice."""
    if not session_ids:
        return {}
    rows = db.session.execute(
        select(InvoiceLine.usage_session_id, InvoiceLine.amount_fen, Invoice)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(InvoiceLine.kind == "usage", InvoiceLine.usage_session_id.in_(session_ids))
        .options(selectinload(Invoice.payments)))  # its state badge reads what was paid
    return {session_id: Charge(invoice.number or f"#{invoice.id}", amount_fen, invoice,
                               gettext(INVOICE_STATE_WORDS[invoice.state]), invoice.state != "void")
            for session_id, amount_fen, invoice in rows}


def answer_no_shows_charged(booking_ids: list[int], **_extra) -> dict[int, str]:
    """Receiver of metering's `no_shows_charged`: the bookings whose no-show an invoice line
    charges (a waived one, at 0, is no charge), with the invoice's number."""
    rows = db.session.execute(
        select(InvoiceLine.booking_id, Invoice.number, Invoice.id)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(InvoiceLine.kind == "no_show", InvoiceLine.amount_fen > 0,
               Invoice.state != "void", InvoiceLine.booking_id.in_(booking_ids)))
    return {booking_id: number or f"#{invoice_id}" for booking_id, number, invoice_id in rows}


def penalty_facts(start: datetime, end: datetime) -> list[Fact]:
    """No-shows and late cancellations starting in [start, end) not charged yet, with their
    waiver: the instrument was down (blackout) or someone else used the freed slot."""
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
               Booking.billed_separately.is_(False), or_(Booking.state == "no_show",
                   and_(Booking.state == "cancelled", Booking.late_cancel.is_(True)))))
    facts = []
    for booking, instrument, kind, was_down, was_reused in rows:
        no_show = booking.state == "no_show"
        fraction = instrument.no_show_fraction if no_show else instrument.late_cancel_fraction
        facts.append(Fact("no_show" if no_show else "late_cancel", instrument.id,
                          instrument.organisation_id, booking.organisation_id, kind,
                          booking.user_id, booking.start_at, booking.end_at, instrument.name_zh,
                          booking_id=booking.id, fraction=Decimal(fraction),
                          waived=bool(was_down or was_reused or instrument.status != "active"),
                          project_id=booking.project_id))
    return facts


def samples_facts(where) -> list[Fact]:
    """The samples of completed staff-operated (送样) bookings matching `where`, on
    instruments with a fee per sample, not charged yet (the fee as the instrument states it
    now)."""
    charged = exists().where(InvoiceLine.booking_id == Booking.id, InvoiceLine.kind == "samples")
    rows = db.session.execute(
        select(Booking.id, Booking.instrument_id, Instrument.organisation_id,
               Booking.organisation_id, Organisation.kind, Booking.user_id, Booking.start_at,
               Booking.end_at, Instrument.name_zh, Booking.sample_count,
               Instrument.per_sample_fee_fen, Booking.project_id)
        .join(Instrument, Instrument.id == Booking.instrument_id)
        .join(Organisation, Organisation.id == Booking.organisation_id)
        .where(where, Booking.state == "completed", Booking.mode == "staff_operated",
               Booking.sample_count > 0, Instrument.per_sample_fee_fen > 0, ~charged,
               Booking.billed_separately.is_(False))
        .order_by(Booking.start_at, Booking.id))
    return [Fact("samples", r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], booking_id=r[0],
                 samples=r[9], per_sample_fen=r[10], project_id=r[11]) for r in rows]


def booking_facts(booking_id: int) -> list[Fact]:
    """A booking's uncharged sessions and samples."""
    return usage_facts(UsageSession.booking_id == booking_id) + \
        samples_facts(Booking.id == booking_id)


def period_facts(start: datetime, end: datetime) -> list[Fact]:
    """Every uncharged effective session, penalty and staff-operated booking's samples that
    started in [start, end) (a few set-based queries)."""
    return usage_facts(and_(UsageSession.started_at >= start, UsageSession.started_at < end)) + \
        penalty_facts(start, end) + \
        samples_facts(and_(Booking.start_at >= start, Booking.start_at < end))
