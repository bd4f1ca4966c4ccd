"""The per-sample fee of staff-operated (送样) bookings: one "samples" line per booking, on
the booking's invoice (external customers) or in the month close (internal ones), never twice."""
from datetime import timedelta
from decimal import Decimal

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from booking.billing import close, facts, invoicing, pricing
from booking.billing.models import Invoice, InvoiceLine
from booking.bookings.models import Booking
from booking.core.db import utc
from booking.extensions import db
from booking.metering import services as metering
from tests.moments import MONDAY_2_MAR_9AM

FEE = 5_000  # 50 元 per sample


@pytest.fixture
def lab(make):
    owner = make.organisation(short_code="DLUTS")
    return {"owner": owner, "instrument": make.instrument(organisation=owner,
                                                          per_sample_fee_fen=FEE),
            "manager": make.user(role="lab_manager", organisation=owner),
            "internal": make.user(organisation=owner),
            "academic": make.user(organisation=make.organisation())}


def _use(make, lab, user, samples=3, mode="staff_operated", instrument=None, start=MONDAY_2_MAR_9AM,
         minutes=50):
    """A booking checked in and out by the lab (check-out invoices external customers)."""
    booking = make.placed_booking(instrument or lab["instrument"], user, start, mode=mode,
                                  sample_count=samples)
    with freeze_time(start):
        session = metering.check_in(booking, actor=lab["manager"], source="kiosk")
    with freeze_time(start + timedelta(minutes=minutes)):
        metering.check_out(session, actor=lab["manager"])
    return booking


def _lines(kind="samples"):
    return db.session.scalars(select(InvoiceLine).where(InvoiceLine.kind == kind)
                              .order_by(InvoiceLine.id)).all()


def test_external_booking_is_invoiced_with_one_samples_line(make, lab):
    booking = _use(make, lab, lab["academic"])  # 50 min -> 60 billable at 200 元/h
    [line] = _lines()
    assert (line.quantity, line.unit_price_fen, line.amount_fen, line.minutes) == (
        Decimal(3), FEE, 3 * FEE, 0)
    assert (line.booking_id, line.instrument_id, line.usage_session_id) == (
        booking.id, lab["instrument"].id, None)
    invoice = line.invoice
    assert sorted(li.kind for li in invoice.lines) == ["samples", "usage"]
    assert invoice.subtotal_fen == invoice.amount_due_fen == 20_000 + 3 * FEE


def test_samples_are_charged_once(make, lab):
    booking = _use(make, lab, lab["academic"])
    assert invoicing.invoice_booking(booking) is None  # nothing left to charge
    # a second session of the completed booking, recorded later, is invoiced alone
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(hours=3)):
        later = metering.record_session(lab["instrument"], lab["academic"],
                                        start=MONDAY_2_MAR_9AM + timedelta(minutes=55),
                                        end=MONDAY_2_MAR_9AM + timedelta(minutes=115),
                                        actor=lab["manager"], source="manager", booking=booking)
    assert later.ended_at is not None
    assert len(_lines()) == 1 and len(_lines("usage")) == 2
    assert close.close_month("2026-03").invoices == 0  # the month close finds it charged too
    savepoint = db.session.begin_nested()
    invoice = _lines()[0].invoice
    with pytest.raises(IntegrityError):  # uq_invoice_lines_booking_samples
        db.session.execute(InvoiceLine.__table__.insert().values(
            invoice_id=invoice.id, kind="samples", description="again", minutes=0, quantity=1,
            unit_price_fen=FEE, amount_fen=FEE, booking_id=booking.id))
    savepoint.rollback()


def test_internal_samples_wait_for_the_month_close(make, lab):
    booking = _use(make, lab, lab["internal"], samples=2)
    assert db.session.scalar(select(func.count()).select_from(Invoice)) == 0
    with freeze_time(utc(2026, 4, 1, 2)):
        result = close.close_month("2026-03")
    assert result.invoices == 1 and result.amount_fen == 10_000 + 2 * FEE  # 60 min at 100 元/h
    [line] = _lines()
    assert (line.booking_id, line.quantity, line.amount_fen) == (booking.id, Decimal(2), 2 * FEE)
    assert line.invoice.customer_class == "internal" and line.invoice.period == "2026-03"
    assert close.close_month("2026-03").invoices == 0  # idempotent


def test_a_completed_booking_without_session_is_charged_its_samples_in_the_month(make, lab):
    booking = make.placed_booking(lab["instrument"], lab["academic"], MONDAY_2_MAR_9AM,
                                  mode="staff_operated", sample_count=4, state="completed")
    result = close.close_month("2026-03")
    [line] = _lines()
    assert result.invoices == 1 and result.amount_fen == 4 * FEE
    assert line.booking_id == booking.id and line.invoice.customer_user_id == lab["academic"].id


def test_no_samples_line_without_fee_samples_or_staff_operation(make, lab):
    free = make.instrument(organisation=lab["owner"], per_sample_fee_fen=0)
    _use(make, lab, lab["academic"], instrument=free)
    _use(make, lab, lab["academic"], samples=0, start=MONDAY_2_MAR_9AM + timedelta(hours=2))
    _use(make, lab, lab["academic"], samples=0, mode="self_operated",
         start=MONDAY_2_MAR_9AM + timedelta(hours=4))
    make.placed_booking(lab["instrument"], lab["internal"], MONDAY_2_MAR_9AM + timedelta(days=1),
                        mode="staff_operated", sample_count=5, state="cancelled")
    close.close_month("2026-03")
    assert _lines() == [] and len(_lines("usage")) == 3


def test_samples_facts_price_without_a_rate_card(make, lab):
    """The per-sample fee does not depend on the customer class's hourly rate."""
    booking = make.placed_booking(lab["instrument"], lab["academic"], MONDAY_2_MAR_9AM,
                                  mode="staff_operated", sample_count=2, state="completed")
    [fact] = facts.samples_facts(Booking.id == booking.id)
    line = pricing.price_line(fact, [])
    assert (line["kind"], line["quantity"], line["unit_price_fen"], line["amount_fen"],
            line["minutes"]) == ("samples", Decimal("2.00"), FEE, 2 * FEE, 0)
