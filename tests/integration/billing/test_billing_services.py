"""Invoices per booking and per month, numbering, immutability, credit notes and payments."""
from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from booking.billing import close, facts, invoicing, payments, rules, signals
from booking.billing.models import ImmutableInvoice, Invoice, InvoiceLine
from booking.billing.refusals import BillingRefused
from booking.core.clock import parse_period
from booking.core.db import utc
from booking.core.notifications import OutboxMessage
from booking.extensions import db
from booking.metering import services as metering
from tests.moments import MONDAY_2_MAR_9AM


@pytest.fixture
def lab(make):
    owner = make.organisation(short_code="DLUT9")
    return {"owner": owner, "instrument": make.instrument(organisation=owner),
            "manager": make.user(role="lab_manager", organisation=owner),
            "finance": make.user(role="finance", organisation=owner),
            "internal": make.user(organisation=owner),
            "academic": make.user(organisation=make.organisation()),
            "sme": make.user(organisation=make.organisation(kind="enterprise"))}


def _check_in_out(make, lab, user, start=MONDAY_2_MAR_9AM, minutes=50):
    booking = make.placed_booking(lab["instrument"], user, start)
    with freeze_time(start):
        session = metering.check_in(booking, actor=user, source="kiosk")
    with freeze_time(start + timedelta(minutes=minutes)):
        metering.check_out(session, actor=user)
    return booking


def test_completed_external_booking_is_invoiced_at_check_out(make, lab):
    booking = _check_in_out(make, lab, lab["sme"])  # 50 min -> 60 billable at 400 元/h
    invoice = db.session.scalar(select(Invoice).join(InvoiceLine).where(
        InvoiceLine.booking_id == booking.id))
    assert invoice.state == "issued" and invoice.number == "DLUT9-2026-000001"
    assert invoice.subtotal_fen == invoice.amount_due_fen == 40_000
    assert invoice.lines[0].minutes == 60 and invoice.customer_user_id == lab["sme"].id
    assert invoice.due_at == invoice.issued_at + timedelta(days=rules.PAYMENT_DAYS)
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind ==
                                                            "invoice.issued"))
    assert message.recipient == lab["sme"].email and "DLUT9-2026-000001" in message.body


def test_internal_booking_waits_for_the_month(make, lab):
    _check_in_out(make, lab, lab["internal"])
    assert db.session.scalar(select(func.count()).select_from(Invoice)) == 0
    with freeze_time(utc(2026, 4, 1, 2)):
        result = close.close_month("2026-03")
    assert result.invoices == 1 and result.amount_fen == 10_000  # 60 min at 100 元/h
    assert close.close_month("2026-03").invoices == 0  # idempotent


def test_month_close_groups_per_customer_and_prices_penalties(make, lab):
    inst = lab["instrument"]
    make.usage_session(inst, lab["internal"], MONDAY_2_MAR_9AM, minutes=20)  # min 30 -> 5,000
    make.usage_session(inst, lab["internal"], MONDAY_2_MAR_9AM + timedelta(hours=2), minutes=61)  # 75
    make.placed_booking(inst, lab["academic"], MONDAY_2_MAR_9AM + timedelta(days=1), state="no_show")
    waived = make.placed_booking(inst, lab["academic"], MONDAY_2_MAR_9AM + timedelta(days=2),
                                 state="no_show")
    make.usage_session(inst, lab["internal"], waived.start_at, minutes=60)  # slot reused
    make.usage_session(inst, lab["internal"], utc(2026, 2, 28, 1))  # February: not included
    result = close.close_month("2026-03")
    invoices = db.session.scalars(select(Invoice).order_by(Invoice.id)).all()
    assert result.invoices == 2 and len(invoices) == 2
    internal = next(i for i in invoices if i.customer_class == "internal")
    assert [li.amount_fen for li in internal.lines] == [5_000, 12_500, 10_000]
    academic = next(i for i in invoices if i.customer_class == "academic")
    # no-show: half of 60 min at 200 元/h; the reused slot is waived
    assert sorted(li.amount_fen for li in academic.lines) == [0, 10_000]
    assert {i.number for i in invoices} == {"DLUT9-2026-000001", "DLUT9-2026-000002"}


def test_month_close_rolls_back_completely_on_a_crash(make, lab, monkeypatch):
    make.usage_session(lab["instrument"], lab["internal"], MONDAY_2_MAR_9AM)
    make.usage_session(lab["instrument"], lab["academic"], MONDAY_2_MAR_9AM + timedelta(hours=3))

    def boom(invoice_ids):  # the last step, after the invoices and lines are written
        raise RuntimeError("disk full")

    monkeypatch.setattr(invoicing, "_charge_projects", boom)
    savepoint = db.session.begin_nested()
    with pytest.raises(RuntimeError):
        close.close_month("2026-03")
    savepoint.rollback()
    assert db.session.scalar(select(func.count()).select_from(Invoice)) == 0
    assert db.session.scalar(select(func.count()).select_from(InvoiceLine)) == 0


def test_voucher_signal_reduces_amount_due(make, lab):
    def offer(invoices):
        return {invoice.id: 15_000 for invoice in invoices}

    signals.invoice_issuing.connect(offer)
    try:
        booking = _check_in_out(make, lab, lab["sme"])
    finally:
        signals.invoice_issuing.disconnect(offer)
    invoice = db.session.scalar(select(Invoice).join(InvoiceLine).where(
        InvoiceLine.booking_id == booking.id))
    assert (invoice.subtotal_fen, invoice.voucher_fen, invoice.amount_due_fen) == \
        (40_000, 15_000, 25_000)


def test_issued_invoice_is_immutable(make, lab):
    booking = _check_in_out(make, lab, lab["sme"])
    invoice = db.session.scalar(select(Invoice).join(InvoiceLine).where(
        InvoiceLine.booking_id == booking.id))
    savepoint = db.session.begin_nested()
    invoice.subtotal_fen = 1
    with pytest.raises(ImmutableInvoice):
        db.session.flush()
    savepoint.rollback()
    savepoint = db.session.begin_nested()
    invoice.lines[0].amount_fen = 1
    with pytest.raises(ImmutableInvoice):
        db.session.flush()
    savepoint.rollback()


def test_void_credit_and_payments(make, lab):
    booking = _check_in_out(make, lab, lab["sme"])
    invoice = db.session.scalar(select(Invoice).join(InvoiceLine).where(
        InvoiceLine.booking_id == booking.id))
    with pytest.raises(BillingRefused):
        payments.settle_internal(invoice, lab["finance"], "GRANT-1")
    payments.record_bank_transfer(invoice, lab["finance"], "BOC 123")
    assert invoice.state == "paid" and invoice.payments[0].method == "bank_transfer"
    with pytest.raises(BillingRefused, match="credit note"):
        invoicing.void_invoice(invoice, lab["finance"], "paid twice")
    note = invoicing.credit_note(invoice, 10_000, "discount", lab["finance"])
    assert note.kind == "credit_note" and note.credits_id == invoice.id
    assert note.number == "DLUT9-2026-000002" and note.amount_due_fen == 10_000
    with pytest.raises(BillingRefused):
        invoicing.credit_note(invoice, 30_001, "too much", lab["finance"])


def test_internal_invoice_settles_from_a_project_account(make, lab):
    from booking.groups.services import budget_of
    from tests.factories.groups import create_group, create_project

    make.usage_session(lab["instrument"], lab["internal"], MONDAY_2_MAR_9AM)
    close.close_month("2026-03")
    invoice = db.session.scalar(select(Invoice))
    with pytest.raises(BillingRefused):
        payments.settle_internal(invoice, lab["internal"], None)
    strangers = create_project(create_group(make.user(organisation=lab["owner"])), number="X")
    with pytest.raises(BillingRefused):
        payments.settle_internal(invoice, lab["internal"], strangers)
    project = create_project(create_group(make.user(organisation=lab["owner"]),
                                          members=[lab["internal"]]), number="NSFC-2026-01")
    payments.settle_internal(invoice, lab["internal"], project)
    assert invoice.state == "paid" and invoice.payments[0].reference == "NSFC-2026-01"
    assert invoice.payments[0].project_id == project.id
    assert budget_of(project).spent_fen == invoice.amount_due_fen
    # a credit note on it goes back to the project charged (it stayed spent)
    invoicing.credit_note(invoice, 4_000, "overcharged", lab["finance"])
    assert budget_of(project).spent_fen == invoice.amount_due_fen - 4_000


def test_settling_from_a_project_keeps_its_budget_and_its_pis_approval(make, lab):
    """Reported: a group member settled invoices from the PI's project past its budget and
    past the fee above which the PI approves."""
    from booking.groups.services import budget_of
    from tests.factories.groups import create_group, create_project

    make.usage_session(lab["instrument"], lab["internal"], MONDAY_2_MAR_9AM)  # ¥100 due
    close.close_month("2026-03")
    invoice = db.session.scalar(select(Invoice))
    pi = make.user(organisation=lab["owner"])
    small = create_project(create_group(pi, members=[lab["internal"]]), budget_fen=5_000,
                           number="SMALL")
    with pytest.raises(BillingRefused) as refused:
        payments.settle_internal(invoice, lab["internal"], small)
    assert [p.code for p in refused.value.problems] == ["over_budget"]
    approving = create_project(create_group(pi, members=[lab["internal"]], threshold_fen=5_000,
                                            approval_mode="above_fee", name="另一课题组"),
                               number="PI-OK")
    with pytest.raises(BillingRefused) as refused:
        payments.settle_internal(invoice, lab["internal"], approving)
    assert [p.code for p in refused.value.problems] == ["pi_approval_required"]
    assert invoice.state == "issued" and budget_of(approving).spent_fen == 0
    payments.settle_internal(invoice, lab["finance"], approving)  # the office, on the PI's word
    assert invoice.state == "paid" and budget_of(approving).spent_fen == invoice.amount_due_fen


def test_void_draft_or_issued_without_payments(make, lab):
    booking = _check_in_out(make, lab, lab["sme"])
    invoice = db.session.scalar(select(Invoice).join(InvoiceLine).where(
        InvoiceLine.booking_id == booking.id))
    with pytest.raises(BillingRefused):
        invoicing.void_invoice(invoice, lab["finance"], " ")
    invoicing.void_invoice(invoice, lab["finance"], "wrong customer")
    assert invoice.state == "void"
    with pytest.raises(rules.CannotPay):
        payments._mark_paid(invoice, "bank_transfer", 1, actor=None)


def test_month_close_emails_each_customer_their_invoice(make, lab):
    english = make.user(organisation=lab["owner"], locale="en")
    make.usage_session(lab["instrument"], lab["internal"], MONDAY_2_MAR_9AM)
    make.usage_session(lab["instrument"], english, MONDAY_2_MAR_9AM + timedelta(hours=2))
    make.usage_session(lab["instrument"], lab["academic"], MONDAY_2_MAR_9AM + timedelta(hours=4))
    with freeze_time(utc(2026, 4, 1, 2)):
        result = close.close_month("2026-03")
    invoices = db.session.scalars(select(Invoice).order_by(Invoice.id)).all()
    messages = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == "invoice.issued").order_by(OutboxMessage.id)).all()
    assert result.invoices == len(invoices) == len(messages) == 3
    by_recipient = {m.recipient: m for m in messages}
    for invoice in invoices:
        message = by_recipient[invoice.customer_user.email]
        assert invoice.number in message.subject and invoice.number in message.body
        assert f"http://localhost/invoices/{invoice.id}" in message.body
    assert by_recipient[english.email].body.startswith("Test Org")  # English, provider's name_en
    assert "已开具账单" in by_recipient[lab["internal"].email].body  # zh_CN, the default
    assert close.close_month("2026-03").invoices == 0
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 3  # no repeat


def test_demo_history_closes_months_without_emails(make, lab):
    make.usage_session(lab["instrument"], lab["internal"], MONDAY_2_MAR_9AM)
    assert close.close_month("2026-03", notify=False).invoices == 1
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_penalty_search_uses_the_partial_index_on_sqlite(app):
    """The 'not charged yet' check must hit uq_invoice_lines_booking_penalty: with the kinds as
    bound parameters SQLite cannot prove the partial index applies and scans every invoice
    line once per no-show (minutes per month close at province scale)."""
    from sqlalchemy import event

    if db.engine.dialect.name != "sqlite":
        pytest.skip("a SQLite query plan")
    march = parse_period("2026-03", "month")
    seen = []
    listener = lambda conn, cursor, statement, params, *rest: seen.append((statement, params))  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        facts.penalty_facts(march.start, march.end)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    statement, params = next((s, p) for s, p in seen if "FROM bookings" in s)
    plan = " ".join(str(row) for row in db.session.connection().exec_driver_sql(
        "EXPLAIN QUERY PLAN " + statement, params))
    assert "uq_invoice_lines_booking_penalty" in plan and "SCAN invoice_lines" not in plan, plan


def test_check_out_notice_is_in_the_customers_language_not_the_actors(make, lab):
    from flask_babel import force_locale

    english = make.user(organisation=make.organisation(kind="enterprise"), locale="en")
    with force_locale("zh_CN"):  # the lab manager's kiosk, say
        _check_in_out(make, lab, english)
    message = db.session.scalar(select(OutboxMessage).where(
        OutboxMessage.recipient == english.email))
    assert message.subject.startswith("Invoice ") and " issued invoice " in message.body
