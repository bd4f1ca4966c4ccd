"""What customers are told about invoices and payments: in their language, kept in their
inbox with a link to the invoice, e-mailed unless they turned invoices off."""
from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from booking.billing import notifications, payments
from booking.core.notifications import OutboxMessage
from booking.extensions import db
from booking.inbox import services as inbox
from booking.inbox.models import InboxNotice
from tests.moments import MONDAY_2_MAR_9AM


@pytest.fixture
def invoiced(make):
    """An issued invoice of 400 CNY from a university's lab to a user of an enterprise."""
    instrument = make.instrument(organisation=make.organisation(name_en="Dalian Test University"))
    customer = make.user(organisation=make.organisation(kind="enterprise"), locale="en")
    invoice = make.issued_invoice(instrument, customer.organisation, 40_000, MONDAY_2_MAR_9AM,
                                  customer_user_id=customer.id,
                                  due_at=MONDAY_2_MAR_9AM + timedelta(days=30))
    return invoice, customer, make.user(role="finance", organisation=instrument.organisation)


def notices(user, kind) -> list[InboxNotice]:
    return list(db.session.scalars(select(InboxNotice).where(
        InboxNotice.user_id == user.id, InboxNotice.kind == kind)))


def mails(user, kind) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.recipient == user.email, OutboxMessage.kind == kind)))


def test_a_payment_recorded_is_told_to_the_customer(invoiced):
    invoice, customer, finance = invoiced
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(days=3)):
        payments.record_bank_transfer(invoice, finance, "BOC-1")
    [notice] = notices(customer, "invoice.paid")
    assert notice.subject == f"Payment received for invoice {invoice.number}"
    assert "Dalian Test University recorded your payment of ¥400.00" in notice.body
    assert "(bank transfer) on 2026-03-05" in notice.body
    assert notice.link == f"/invoices/{invoice.id}"
    assert [m.subject for m in mails(customer, "invoice.paid")] == [notice.subject]


def test_an_internal_settlement_is_told_too_but_not_the_demos_history(make, invoiced):
    from tests.factories.groups import create_group, create_project

    invoice, customer, finance = invoiced
    payments.record_bank_transfer(invoice, finance, "DEMO", notify=False)
    assert notices(customer, "invoice.paid") == []
    instrument = make.instrument(organisation=customer.organisation)
    project = create_project(create_group(make.user(organisation=customer.organisation),
                                          members=[customer]), number="G-7")
    internal = make.issued_invoice(instrument, customer.organisation, 10_000, MONDAY_2_MAR_9AM,
                                   customer_user_id=customer.id)
    payments.settle_internal(internal, customer, project)
    assert "(internal account)" in notices(customer, "invoice.paid")[0].body


def test_an_invoice_without_a_user_tells_nobody(make, invoiced):
    _invoice, customer, finance = invoiced
    instrument = make.instrument()
    invoice = make.issued_invoice(instrument, customer.organisation, 10_000, MONDAY_2_MAR_9AM)
    payments.record_bank_transfer(invoice, finance, "BOC-2")
    assert db.session.scalar(select(InboxNotice.id).where(
        InboxNotice.kind == "invoice.paid")) is None


def test_issued_invoices_land_in_the_inbox_in_a_batch(make, invoiced):
    invoice, customer, _finance = invoiced
    muted = make.user(organisation=customer.organisation)
    inbox.save_preferences(muted, emailed=["decisions"], reminders=[])
    other = make.issued_invoice(make.instrument(), customer.organisation, 20_000,
                                MONDAY_2_MAR_9AM, customer_user_id=muted.id,
                                due_at=MONDAY_2_MAR_9AM + timedelta(days=30))
    notifications.notify_invoices_issued([invoice, other])
    [mine] = notices(customer, "invoice.issued")
    assert mine.subject == f"Invoice {invoice.number}" and mine.link == f"/invoices/{invoice.id}"
    assert mine.body.startswith(f"Dalian Test University issued invoice {invoice.number}: "
                                "¥400.00 due by ")
    # the e-mail's link is whole (it read "(/invoices/12)", a path no mail client opens)
    assert mine.body.endswith(f"under My invoices: http://localhost/invoices/{invoice.id}")
    assert f"已开具账单 {other.number}：应付 ¥200.00" in notices(muted, "invoice.issued")[0].body
    assert len(mails(customer, "invoice.issued")) == 1
    assert len(notices(muted, "invoice.issued")) == 1 and mails(muted, "invoice.issued") == []
    assert notices(muted, "invoice.issued")[0].subject == f"账单 {other.number}"  # in Chinese
