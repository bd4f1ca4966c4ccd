"""Finance that reconciles (issue 19): part payments and overpayments with a date and a
reference, messages that say what happened, reminders at the due date, +14 and +30 days, the
overdue block, the month close with its preview, and the customer's balance."""
import io
from datetime import timedelta

import pytest
from freezegun import freeze_time
from openpyxl import load_workbook
from sqlalchemy import select

from booking.billing import dunning
from booking.billing.models import DunningNotice, Invoice, ProviderSettings
from booking.core.notifications import OutboxMessage
from booking.extensions import db
from booking.metering import services as metering
from tests.moments import MONDAY_2_MAR_9AM

EN = {"Accept-Language": "en"}


@pytest.fixture
def sold(make):
    owner = make.organisation(short_code="DLUTR", name_en="Dalian Test University")
    instrument = make.instrument(organisation=owner)
    customer = make.user(organisation=make.organisation(kind="enterprise"), locale="en")
    booking = make.placed_booking(instrument, customer, MONDAY_2_MAR_9AM)
    with freeze_time(MONDAY_2_MAR_9AM):
        session = metering.check_in(booking, actor=customer, source="kiosk")
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(minutes=60)):
        metering.check_out(session, actor=customer)
    db.session.commit()
    invoice = db.session.scalar(select(Invoice).where(Invoice.customer_user_id == customer.id))
    return {"invoice": invoice, "customer": customer, "owner": owner, "instrument": instrument,
            "finance": make.user(role="finance", organisation=owner, locale="en")}


def _credit(client, invoice, amount, reason="calibration"):
    return client.post(f"/invoices/{invoice.id}/credit", headers=EN,
                       data={"amount": amount, "reason": reason})


def _pay(client, invoice, amount, day="2026-03-10", reference="BOC-1"):
    return client.post(f"/invoices/{invoice.id}/bank-transfer", headers=EN,
                       data={"amount": amount, "received_on": day, "reference": reference},
                       follow_redirects=True)


def test_a_part_payment_then_the_rest_then_the_invoice_is_paid(client, login, sold):
    invoice = sold["invoice"]
    assert invoice.amount_due_fen == 40_000
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(days=10)):
        login(sold["finance"])
        page = _pay(client, invoice, "150.00").get_data(as_text=True)
        assert invoice.state == "issued" and invoice.outstanding_fen == 25_000
        assert "¥150.00 recorded for" in page and "¥250.00 still outstanding" in page
        assert invoice.payments[0].received_on.isoformat() == "2026-03-10"
        told = _mails(sold["customer"], "invoice.paid")[-1].body  # and what is left to pay
        assert "¥150.00" in told and "¥250.00 is still to pay." in told
        # the lists say it is part paid and what is left, not "unpaid" in full
        row = client.get("/finance?state=unpaid", headers=EN).get_data(as_text=True).split(
            f'id="invoice-{invoice.id}"')[1].split("</tr>")[0]
        assert "partly paid" in row and "¥250.00 to pay" in row
        login(sold["customer"])
        row = client.get("/invoices", headers=EN).get_data(as_text=True).split(
            f'id="invoice-{invoice.id}"')[1].split("</tr>")[0]
        assert "partly paid" in row and "¥250.00 to pay" in row
        login(sold["finance"])
        twice = client.post(f"/invoices/{invoice.id}/bank-transfer", headers=EN, data={
            "amount": "250.00", "received_on": "2026-03-11", "reference": "BOC-1"})
        assert twice.status_code == 422 and len(invoice.payments) == 1  # BOC-1 is recorded
        assert "reference BOC-1 is already recorded" in twice.get_data(as_text=True)
        page = _pay(client, invoice, "250.00", day="2026-03-11", reference="BOC-2"
                    ).get_data(as_text=True)
    assert invoice.state == "paid" and [p.amount_fen for p in invoice.payments] == [15_000,
                                                                                     25_000]
    assert "is paid" in page


def test_an_overpayment_is_a_balance_carried_for_the_customer(client, login, sold):
    """Carried once finance confirms it: a zero typed too many went through unasked."""
    invoice = sold["invoice"]
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(days=10)):
        login(sold["finance"])
        asked = client.post(f"/invoices/{invoice.id}/bank-transfer", headers=EN, data={
            "amount": "450.00", "received_on": "2026-03-10", "reference": "BOC-1"})
        assert asked.status_code == 422 and invoice.payments == []
        assert "¥450.00 is more than the ¥400.00 outstanding" in asked.get_data(as_text=True)
        assert 'name="overpay"' in asked.get_data(as_text=True)
        page = client.post(f"/invoices/{invoice.id}/bank-transfer", headers=EN,
                           follow_redirects=True, data={
                               "amount": "450.00", "received_on": "2026-03-10",
                               "reference": "BOC-1", "overpay": "y"}).get_data(as_text=True)
    assert invoice.state == "paid" and invoice.overpaid_fen == 5_000
    assert "¥50.00 overpaid carried as a balance" in page
    balance = dunning.balance_of(sold["customer"])
    assert balance["balance_fen"] == -5_000


@pytest.mark.parametrize("data", [
    {"amount": "0", "received_on": "2026-03-10", "reference": "x"},
    {"amount": "abc", "received_on": "2026-03-10", "reference": "x"},
    {"amount": "sNaN", "received_on": "2026-03-10", "reference": "x"},  # was a 500
    {"amount": "Infinity", "received_on": "2026-03-10", "reference": "x"},
    {"amount": "10.00", "received_on": "2031-01-01", "reference": "x"},
    {"amount": "10.00", "received_on": "2026-03-10", "reference": ""},
])
def test_bad_payment_input_is_refused_with_a_message(client, login, sold, data):
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(days=10)):
        login(sold["finance"])
        response = client.post(f"/invoices/{sold['invoice'].id}/bank-transfer", data=data,
                               headers=EN, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'alert-danger' in page and "is-invalid" in page
    assert f'value="{data["reference"]}"' in page  # what was typed is still there
    assert sold["invoice"].payments == []
    if data["received_on"] == "2031-01-01":  # reported: it offered days up to two years on
        assert "Choose a date between 1900-01-01 and 2026-03-12." in page


def test_money_is_not_recorded_as_moving_before_its_document_was_issued(client, login, sold):
    """Reported: a transfer dated 1999-01-01 was recorded on an invoice of 2026, and the
    customer was told so; a refund dated 2000-01-01 too."""
    invoice = sold["invoice"]
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(days=10)):
        login(sold["finance"])
        page = _pay(client, invoice, "100.00", day="1999-01-01")
        assert page.status_code == 422 and invoice.payments == []
        said = page.get_data(as_text=True)
        assert f"cannot be before {invoice.number} was issued (2026-03-02)" in said
        _pay(client, invoice, "400.00", day="2026-03-02")  # the day it was issued: fine
        _credit(client, invoice, "40.00")
        note = db.session.scalar(select(Invoice).where(Invoice.credits_id == invoice.id))
        refund = client.post(f"/invoices/{note.id}/refund", headers=EN,
                             data={"refunded_on": "2000-01-01", "reference": "R"})
        assert refund.status_code == 422 and note.state == "issued"
    assert invoice.state == "paid"


def test_a_credit_note_flash_links_to_the_new_document_and_void_asks_first(client, login, sold):
    login(sold["finance"])
    page = client.get(f"/invoices/{sold['invoice'].id}", headers=EN).get_data(as_text=True)
    assert 'id="void-form" data-confirm=' in page and 'id="credit-form" data-confirm=' in page
    page = client.post(f"/invoices/{sold['invoice'].id}/credit", headers=EN, follow_redirects=True,
                       data={"amount": "40.00", "reason": "calibration"}).get_data(as_text=True)
    note = db.session.scalar(select(Invoice).where(Invoice.credits_id == sold["invoice"].id))
    assert f'href="/invoices/{note.id}"' in page and "Credit note of ¥40.00 issued" in page
    assert "¥40.00 deducted from what is left to pay (¥360.00 now)" in page
    balance = dunning.balance_of(sold["customer"])  # taken off the open invoice, not owed back
    assert (balance["open_fen"], balance["credit_fen"]) == (36_000, 0)


def test_a_credit_note_on_an_open_invoice_is_deducted_from_what_is_left_to_pay(
        client, login, sold):
    """Reported: a credit note on an unpaid invoice left it owing in full (reminders, card
    payment and the customer's balance all asked for the whole amount) and the credit waited
    to be refunded: the customer paid money only to be paid it back."""
    invoice, customer = sold["invoice"], sold["customer"]
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(days=10)):
        login(sold["finance"])
        _pay(client, invoice, "100.00")
        _credit(client, invoice, "50.00")
        first = db.session.scalar(select(Invoice).where(Invoice.credits_id == invoice.id))
        assert (invoice.state, invoice.outstanding_fen) == ("issued", 25_000)
        assert (first.state, first.deducted_fen, first.to_refund_fen) == ("paid", 5_000, 0)
        assert [(p.method, p.reference) for p in invoice.payments] == [
            ("bank_transfer", "BOC-1"), ("credit_note", first.number)]
        page = client.get(f"/invoices/{invoice.id}", headers=EN).get_data(as_text=True)
        assert f"{first.number}</a>: ¥50.00 · ¥50.00 deducted from what is to pay" in page
        assert "credit_note" not in page[page.index('id="invoice-payments"'):][:300]
        assert 'id="partly-paid">partly paid: ¥250.00 to pay<' in page
        totals = page[page.index('id="deducted-line"'):page.index("</tfoot>")]
        assert "Credit notes deducted" in totals and "−¥50.00" in totals
        assert "Left to pay" in totals and "¥250.00" in totals
        assert 'id="received-amount"' in page and 'type="number" value="250.00"' in page
        balance = dunning.balance_of(customer)
        assert {k: balance[k] for k in ("open_fen", "credit_fen", "overpaid_fen", "balance_fen")} \
            == {"open_fen": 25_000, "credit_fen": 0, "overpaid_fen": 0, "balance_fen": 25_000}
        [mail] = _mails(customer, "invoice.credited")
        assert (f"¥50.00 of it is deducted from invoice {invoice.number}: ¥250.00 is left to "
                "pay.") in mail.body and "will refund" not in mail.body
        note_page = client.get(f"/invoices/{first.id}", headers=EN).get_data(as_text=True)
        assert f"Deducted from invoice {invoice.number}: ¥50.00" in note_page
        assert 'id="refund-form"' not in note_page and ">deducted</span>" in note_page
        assert "Credit amount" in note_page and ">Refund<" not in note_page
        login(customer)
        asked = client.get(f"/invoices/{invoice.id}", headers=EN).get_data(as_text=True)
        assert "Please pay ¥250.00 by bank transfer" in asked
        login(sold["finance"])
        # more than is left: the rest settles the invoice, the excess is refunded
        _credit(client, invoice, "300.00", "wrong rate")
        second = db.session.scalar(select(Invoice).where(Invoice.credits_id == invoice.id,
                                                         Invoice.id != first.id))
        assert invoice.state == "paid" and invoice.outstanding_fen == 0
        assert (second.state, second.deducted_fen, second.to_refund_fen) == (
            "issued", 25_000, 5_000)
        assert dunning.balance_of(customer)["credit_fen"] == 5_000
        mail = _mails(customer, "invoice.credited")[-1]
        assert f"deducted from invoice {invoice.number}, which is now settled." in mail.body
        assert "refund the other ¥50.00 to you" in mail.body
        note_page = client.get(f"/invoices/{second.id}", headers=EN).get_data(as_text=True)
        assert "Once ¥50.00 is paid back to the customer." in note_page
        listing = client.get(f"/finance?org={sold['owner'].id}&state=credit",
                             headers=EN).get_data(as_text=True)
        assert "¥50.00 to refund" in listing
        client.post(f"/invoices/{second.id}/refund", data={"refunded_on": "2026-03-12",
                                                           "reference": "BOC-R1"})
        assert second.state == "paid" and [p.amount_fen for p in second.payments] == [
            25_000, 5_000]
        assert dunning.balance_of(customer)["balance_fen"] == 0
        # nothing more to credit than the invoice asked; no reminder for a settled invoice
        refused = _credit(client, invoice, "50.01", "again")
        assert refused.status_code == 422 and "at most ¥50.00" in refused.get_data(as_text=True)
    with freeze_time(invoice.due_at + timedelta(days=1)):
        assert dunning.send_reminders() == 0


def _mails(user, kind):
    return list(db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.recipient == user.email, OutboxMessage.kind == kind)
        .order_by(OutboxMessage.id)))


def test_finance_records_a_credit_notes_refund_and_it_is_owed_no_more(client, login, make,
                                                                      sold):
    """Reported: a credit note stayed "to refund" for ever, since only a Stripe refund could
    settle it; the customer's statement showed it owed to them with no end."""
    invoice = sold["invoice"]
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(days=10)):
        login(sold["finance"])
        _pay(client, invoice, "400.00")
        _credit(client, invoice, "40.00")
        note = db.session.scalar(select(Invoice).where(Invoice.credits_id == invoice.id))
        page = client.get(f"/invoices/{note.id}", headers=EN).get_data(as_text=True)
        assert 'id="refund-form"' in page and "Record the refund" in page
        assert client.post(f"/invoices/{note.id}/refund", headers=EN, data={
            "refunded_on": "2026-03-13", "reference": "BOC-R1"}).status_code == 422  # future
        page = client.post(f"/invoices/{note.id}/refund", headers=EN, follow_redirects=True,
                           data={"refunded_on": "2026-03-12", "reference": "BOC-R1"}
                           ).get_data(as_text=True)
        assert f"Credit note {note.number} is refunded." in page and 'id="refund-form"' not in page
        assert note.state == "paid" and note.payments[0].reference == "BOC-R1"
        assert note.paid_on.isoformat() == "2026-03-12"
        # what went back is a refund, not a payment; the credited invoice is a link
        assert '<p class="small mb-0" id="invoice-payments">Refund: ¥' in page
        assert (f'<a href="/invoices/{sold["invoice"].id}">{sold["invoice"].number}</a>'
                in page)
        assert dunning.balance_of(sold["customer"])["credit_fen"] == 0
        again = client.post(f"/invoices/{note.id}/refund", headers=EN, data={
            "refunded_on": "2026-03-12", "reference": "BOC-R2"})
        assert again.status_code == 422 and len(note.payments) == 1
        login(sold["customer"])  # the customer does not record refunds
        assert client.post(f"/invoices/{note.id}/refund", data={
            "refunded_on": "2026-03-12", "reference": "x"}).status_code == 403
        login(make.user(role="finance", organisation=make.organisation()))  # nor another office
        assert client.post(f"/invoices/{note.id}/refund", data={
            "refunded_on": "2026-03-12", "reference": "x"}).status_code in (403, 404)


def _reminders(user) -> list[str]:
    return list(db.session.scalars(select(OutboxMessage.subject).where(
        OutboxMessage.recipient == user.email, OutboxMessage.kind == "invoice.overdue")
        .order_by(OutboxMessage.id)))


def test_reminders_at_the_due_date_then_14_and_30_days_later_each_once(sold):
    due = sold["invoice"].due_at
    for moment, expected in [(due - timedelta(days=1), 0), (due + timedelta(hours=1), 1),
                             (due + timedelta(days=2), 0), (due + timedelta(days=14), 1),
                             (due + timedelta(days=30, hours=1), 1),
                             (due + timedelta(days=40), 0)]:
        with freeze_time(moment):
            assert dunning.send_reminders() == expected, moment
    assert [s.split(":")[0] for s in _reminders(sold["customer"])] == [
        f"Invoice {sold['invoice'].number} is due", "Reminder", "Reminder"]
    assert [n.stage for n in db.session.scalars(select(DunningNotice))] == ["due", "d14", "d30"]


def test_a_first_reminder_sent_days_late_says_overdue_not_due_today(sold):
    """Reported: "invoice … 今日到期" (due today) for an invoice due six days before: the
    first reminder, sent when the daily job first ran after the due date."""
    with freeze_time(sold["invoice"].due_at + timedelta(days=6, hours=1)):
        assert dunning.send_reminders() == 1
    [subject] = _reminders(sold["customer"])
    assert subject == f"Reminder: invoice {sold['invoice'].number} is 6 days overdue"


def test_a_paid_invoice_is_not_chased(client, login, sold):
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(days=3)):
        login(sold["finance"])
        _pay(client, sold["invoice"], "400.00", day="2026-03-05")
    assert sold["invoice"].state == "paid"
    with freeze_time(sold["invoice"].due_at + timedelta(days=20)):
        assert dunning.send_reminders() == 0


def test_finance_sees_the_overdue_list_and_a_customer_overdue_beyond_the_limit_is_blocked(
        client, login, sold, make):
    login(sold["finance"])
    page = client.get("/finance/overdue", headers=EN)
    assert page.status_code == 200
    response = client.post("/finance/settings", headers=EN, follow_redirects=True, data={
        "bank_name": "中国银行大连分行", "bank_account": "2640 0000 1234", "tax_number":
        "12210000400000000X", "block_overdue_days": "20"})
    assert "Finance settings of Dalian Test University saved." in response.get_data(as_text=True)
    due = sold["invoice"].due_at
    with freeze_time(due + timedelta(days=5)):
        login(sold["finance"])
        listed = client.get("/finance/overdue", headers=EN).get_data(as_text=True)
        assert sold["invoice"].number in listed
        from booking.bookings.calendar import booking_problems
        start = due + timedelta(days=7)
        codes = [p.code for p in booking_problems(sold["instrument"], sold["customer"],
                                                 start=start, end=start + timedelta(hours=1),
                                                 mode="self_operated")]
        assert "overdue_invoices" not in codes  # 5 days: not yet
    with freeze_time(due + timedelta(days=21)):
        problems = dunning.overdue_problems(sold["owner"].id, sold["customer"])
        assert [p.code for p in problems] == ["overdue_invoices"]
        assert "more than 20 days" in problems[0].message
        other = make.instrument()  # another provider does not block
        assert dunning.overdue_problems(other.organisation_id, sold["customer"]) == []


def test_the_overdue_list_is_paged_longest_overdue_first(client, login, sold, make):
    customer = sold["customer"].organisation
    for days in (10, 20):  # two more, overdue longer than the sold one
        make.issued_invoice(sold["instrument"], customer, 10_000, MONDAY_2_MAR_9AM,
                            due_at=sold["invoice"].due_at - timedelta(days=days))
    db.session.commit()
    with freeze_time(sold["invoice"].due_at + timedelta(days=5)):
        login(sold["finance"])
        first = client.get("/finance/overdue?per_page=2", headers=EN).get_data(as_text=True)
        second = client.get("/finance/overdue?per_page=2&page=2", headers=EN).get_data(
            as_text=True)
    assert "3 results · page 1 of 2" in first and first.count('href="/invoices/') == 2
    assert sold["invoice"].number not in first and sold["invoice"].number in second
    assert second.count('href="/invoices/') == 1


def _remind(client, invoice, **extra):
    return client.post(f"/finance/overdue/{invoice.id}/remind", headers=EN,
                       follow_redirects=True, **extra)


def test_finance_reminds_an_overdue_customer_by_hand_at_most_once_a_day(client, login, sold,
                                                                         make):
    """Reported: after a call the finance office could not send a reminder: the daily job's
    three were all there was, and the list did not say who to call."""
    invoice, due = sold["invoice"], sold["invoice"].due_at
    with freeze_time(due + timedelta(days=5)):
        login(sold["finance"])
        page = client.get("/finance/overdue", headers=EN).get_data(as_text=True)
        row = page[page.index(f'id="overdue-{invoice.id}"'):]
        row = row[:row.index("</tr>")]
        assert sold["customer"].email in row and 'class="remind-form"' in row
        page = _remind(client, invoice).get_data(as_text=True)
        assert (f"Reminder for invoice {invoice.number} sent to {sold['customer'].name}."
                in page)
        assert f"by hand · {(due + timedelta(days=5)):%Y-%m-%d} · {sold['finance'].name}" in page
        assert _reminders(sold["customer"]) == [
            f"Reminder: invoice {invoice.number} is 5 days overdue"]
        again = _remind(client, invoice).get_data(as_text=True)  # a stale page's button
        assert "the next one can go 24 hours later" in again
        row = again[again.index(f'id="overdue-{invoice.id}"'):]
        row = row[:row.index("</tr>")]
        assert 'class="remind-form"' not in row and "Again after" in row
        assert len(_reminders(sold["customer"])) == 1
    # the daily job's reminder waits a day after one sent by hand, and the other way round
    with freeze_time(due + timedelta(days=14, hours=-20)):
        login(sold["finance"])
        assert "24 hours later" not in _remind(client, invoice).get_data(as_text=True)
    with freeze_time(due + timedelta(days=14)):
        assert dunning.send_reminders() == 0
    with freeze_time(due + timedelta(days=15)):
        assert dunning.send_reminders() == 1
        login(sold["finance"])
        assert "24 hours later" in _remind(client, invoice).get_data(as_text=True)
    notices = db.session.scalars(select(DunningNotice).order_by(DunningNotice.id)).all()
    assert [(n.stage, n.sent_by_id) for n in notices] == [
        ("manual", sold["finance"].id), ("manual", sold["finance"].id), ("d14", None)]
    # nobody named on the invoice: no button, and refused if asked anyway
    nameless = make.issued_invoice(sold["instrument"], sold["customer"].organisation, 10_000,
                                   MONDAY_2_MAR_9AM, due_at=due)
    with freeze_time(due + timedelta(days=20)):
        login(sold["finance"])
        page = client.get("/finance/overdue", headers=EN).get_data(as_text=True)
        row = page[page.index(f'id="overdue-{nameless.id}"'):]
        assert 'class="remind-form"' not in row[:row.index("</tr>")]
        assert "names no person to remind" in _remind(client, nameless).get_data(as_text=True)
        # paid: nothing to remind of
        _pay(client, invoice, "400.00", day=f"{due + timedelta(days=20):%Y-%m-%d}")
        assert "Only an unpaid invoice" in _remind(client, invoice).get_data(as_text=True)


@pytest.mark.parametrize("who", ["customer", "other_finance", "anonymous"])
def test_only_the_providers_finance_sends_a_reminder(client, login, sold, make, who):
    user = {"customer": sold["customer"], "other_finance": make.user(role="finance"),
            "anonymous": None}[who]
    with freeze_time(sold["invoice"].due_at + timedelta(days=5)):
        if user:
            login(user)
        response = client.post(f"/finance/overdue/{sold['invoice'].id}/remind")
        assert response.status_code == (302 if user is None else 403)
    assert _reminders(sold["customer"]) == [] and db.session.scalars(
        select(DunningNotice)).all() == []


def test_the_overdue_list_sums_by_age_and_downloads_with_whom_to_call(client, login, sold,
                                                                      make):
    due = sold["invoice"].due_at
    old = make.issued_invoice(sold["instrument"], sold["customer"].organisation, 12_345,
                              MONDAY_2_MAR_9AM, due_at=due - timedelta(days=100))
    with freeze_time(due + timedelta(days=5)):
        login(sold["finance"])
        page = client.get("/finance/overdue", headers=EN).get_data(as_text=True)
        aging = page[page.index('id="overdue-aging"'):page.index('id="overdue-list"')]
        assert 'id="overdue-total">¥523.45<' in aging and "2 invoices" in aging
        assert "0–30 days" in aging and "¥400.00" in aging
        assert "Over 90 days" in aging and "¥123.45" in aging
        _remind(client, sold["invoice"])
        response = client.get(f"/finance/{sold['owner'].id}/overdue.xlsx", headers=EN)
    rows = list(load_workbook(io.BytesIO(response.data)).active.values)
    assert rows[0][:4] == ("Number", "Customer", "User", "E-mail")
    assert [row[0] for row in rows[1:]] == [old.number, sold["invoice"].number]
    assert rows[1][3:] == ("", "", rows[1][5], 105, 123.45, "")
    assert rows[2][2:4] == (sold["customer"].name, sold["customer"].email)
    assert rows[2][6:] == (5, 400, f"by hand {due + timedelta(days=5):%Y-%m-%d}")


@pytest.mark.parametrize("role", ["anonymous", "customer", "other_finance", "lab_manager"])
def test_only_the_providers_finance_opens_the_office_pages(client, login, sold, make, role):
    user = {"customer": sold["customer"], "other_finance": make.user(role="finance"),
            "lab_manager": make.user(role="lab_manager", organisation=sold["owner"]),
            "anonymous": None}[role]
    if user:
        login(user)
    org = sold["owner"].id
    for url in (f"/finance/overdue?org={org}", f"/finance/close?month=2026-03&org={org}",
                f"/finance/settings?org={org}", f"/finance/{org}/overdue.csv"):
        assert client.get(url).status_code in ((302,) if user is None else (403,)), url
    assert client.post(f"/finance/settings?org={org}", data={"block_overdue_days": "1"}
                       ).status_code == (302 if user is None else 403)
    assert db.session.get(ProviderSettings, org) is None


def test_month_close_in_the_ui_previews_then_issues(client, login, sold, make):
    internal = make.user(organisation=sold["owner"], name="内部用户")
    make.usage_session(sold["instrument"], internal, MONDAY_2_MAR_9AM + timedelta(days=1))
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(days=40)):
        login(sold["finance"])
        page = client.get("/finance/close?month=2026-03", headers=EN).get_data(as_text=True)
        assert "内部用户" in page and "¥100.00" in page and 'data-confirm=' in page
        assert client.get("/finance/close?month=2031-01", headers=EN,
                          follow_redirects=True).status_code == 200  # not ended: refused
        # reported: 1999-01 "has not ended": the message now gives the range itself
        old = client.get("/finance/close?month=1999-01", headers=EN,
                         follow_redirects=True).get_data(as_text=True)
        assert "Choose a month from 2000-01 to 2026-03, as YYYY-MM." in old
        page = client.post("/finance/close", data={"month": "2026-03"}, headers=EN,
                           follow_redirects=True).get_data(as_text=True)
        assert "1 invoices issued" in page
        again = client.post("/finance/close", data={"month": "2026-03"}, headers=EN,
                            follow_redirects=True).get_data(as_text=True)
        assert "Nothing left to invoice" in again
        # coming back to the month, the clerk reads that it was closed, and when
        done = client.get("/finance/close?month=2026-03", headers=EN).get_data(as_text=True)
        assert 'id="close-done">2026-03 is closed: 1 invoice issued, ¥100.00 before ' \
            'vouchers, the last on 2026-04-11.' in done
        assert "Left to invoice for 2026-03" in done
    assert db.session.scalar(select(Invoice).where(Invoice.customer_user_id == internal.id))


def test_one_provider_s_balance_does_not_pay_another_s_invoices(client, login, make, sold):
    """Reported: a customer overpaid DLUT ¥50 and the invoices page netted it against what
    they owed another provider: 'net balance' read as if DLUT's money settled its bill."""
    from booking.billing.payments import record_bank_transfer

    record_bank_transfer(sold["invoice"], sold["finance"], "BOC-1", amount_fen=45_000,
                         overpay=True)
    other = make.organisation(short_code="DICPR", name_en="Dalian Other Institute")
    customer = sold["customer"]
    booking = make.placed_booking(make.instrument(organisation=other), customer,
                                  MONDAY_2_MAR_9AM + timedelta(days=1))
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(days=1)):
        session = metering.check_in(booking, actor=customer, source="kiosk")
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(days=1, minutes=60)):
        metering.check_out(session, actor=customer)
    db.session.commit()
    balance = dunning.balance_of(customer)
    assert (balance["open_fen"], balance["overpaid_fen"], balance["balance_fen"]) == (
        40_000, 5_000, None)
    assert [(b.provider.short_code, b.balance_fen) for b in balance["by_provider"]] == [
        ("DLUTR", -5_000), ("DICPR", 40_000)]
    login(customer)
    page = client.get("/invoices", headers=EN).get_data(as_text=True)
    assert 'id="net-balance"' not in page
    listed = page[page.index('id="balance-by-provider"'):].split("</ul>")[0]
    assert "Dalian Test University" in listed and "¥50.00 in your favour" in listed
    assert "Dalian Other Institute" not in listed  # it owes the customer nothing


def test_an_overpayment_is_refunded_by_finance(client, login, make, sold):
    """Reported: a balance carried for the customer could be neither refunded nor recorded as
    refunded; it stayed in the customer's favour for ever."""
    from booking.billing.payments import record_bank_transfer
    from booking.core.audit import AuditEvent

    invoice = sold["invoice"]
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(days=10)):
        record_bank_transfer(invoice, sold["finance"], "BOC-1", amount_fen=45_000,
                             received_on=MONDAY_2_MAR_9AM.date() + timedelta(days=8),
                             overpay=True)
        db.session.commit()
        login(sold["customer"])  # the customer may not record it
        assert client.post(f"/invoices/{invoice.id}/refund-overpayment", data={
            "refunded_on": "2026-03-12", "reference": "R"}).status_code == 403
        login(make.user(role="finance"))  # nor another provider's finance office
        assert client.post(f"/invoices/{invoice.id}/refund-overpayment", data={
            "refunded_on": "2026-03-12", "reference": "R"}).status_code == 403
        login(sold["finance"])
        page = client.get(f"/invoices/{invoice.id}", headers=EN).get_data(as_text=True)
        assert 'id="overpayment-refund-form"' in page and "¥50.00 was paid beyond" in page
        early = client.post(f"/invoices/{invoice.id}/refund-overpayment", headers=EN, data={
            "refunded_on": "2026-03-09", "reference": "BOC-R1"})
        assert early.status_code == 422 and invoice.overpaid_fen == 5_000
        assert "before the payment it refunds (2026-03-10)" in early.get_data(as_text=True)
        done = client.post(f"/invoices/{invoice.id}/refund-overpayment", headers=EN,
                           follow_redirects=True, data={"refunded_on": "2026-03-11",
                                                        "reference": "BOC-R1"})
        page = done.get_data(as_text=True)
        again = client.post(f"/invoices/{invoice.id}/refund-overpayment", headers=EN, data={
            "refunded_on": "2026-03-11", "reference": "BOC-R2"})
    assert again.status_code == 422 and "nothing to refund" in again.get_data(as_text=True)
    assert "¥50.00 paid beyond invoice" in page and "is refunded" in page
    assert (invoice.state, invoice.paid_fen, invoice.overpaid_fen) == ("paid", 40_000, 0)
    assert "Overpayment refunded: −¥50.00 · BOC-R1 · 2026-03-11" in page
    assert 'id="overpayment-refund-form"' not in page
    assert dunning.balance_of(sold["customer"])["balance_fen"] == 0
    assert db.session.scalar(select(AuditEvent.action).where(
        AuditEvent.action == "invoice.overpayment_refunded")) is not None
