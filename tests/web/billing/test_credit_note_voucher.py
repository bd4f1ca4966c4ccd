"""A credit note on an invoice a voucher paid part of: the customer is told, and the note, its
invoice and its PDF say what went back to the voucher (the share shrinks in proportion)."""
import shutil
import subprocess  # noqa: S404 - poppler's pdftotext, fixed arguments
from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from booking.billing.models import Invoice, InvoiceLine
from booking.core.notifications import OutboxMessage
from booking.extensions import db
from booking.metering import services as metering
from tests.moments import MONDAY_11_MAY_9AM, SUNDAY_10_MAY_10AM


@pytest.fixture
def credited(make, client, login):
    """400 CNY of use, 160 paid by the voucher; finance credits 60 of the 240 paid: a quarter,
    so 40 of the share goes back to the voucher."""
    with freeze_time(SUNDAY_10_MAY_10AM):
        owner = make.organisation(short_code="DLUTC")
        instrument = make.instrument(organisation=owner)
        finance = make.user(role="finance", organisation=owner)
        sme = make.user(organisation=make.enterprise())
        voucher = make.voucher(user=sme, amount_fen=5_000_000)
        booking = make.placed_booking(instrument, sme, MONDAY_11_MAY_9AM)
    with freeze_time(MONDAY_11_MAY_9AM):
        session = metering.check_in(booking, actor=sme, source="kiosk")
    with freeze_time(MONDAY_11_MAY_9AM + timedelta(hours=1)):
        metering.check_out(session, actor=sme)
        db.session.commit()
        invoice = db.session.scalar(select(Invoice).join(InvoiceLine).where(
            InvoiceLine.booking_id == booking.id))
        assert (invoice.voucher_fen, invoice.amount_due_fen) == (16_000, 24_000)
        login(finance)
        client.post(f"/invoices/{invoice.id}/credit",
                    data={"amount": "60.00", "reason": "一个样品测试失败"})
        client.post("/logout")
    note = db.session.scalar(select(Invoice).where(Invoice.credits_id == invoice.id))
    return {"sme": sme, "invoice": invoice, "note": note, "voucher": voucher, "finance": finance}


def test_the_customer_is_told_of_the_credit_and_the_voucher_return(credited):
    note, sme = credited["note"], credited["sme"]
    assert credited["voucher"].remaining_fen == 5_000_000 - 12_000
    body = db.session.scalar(select(OutboxMessage.body).where(
        OutboxMessage.recipient == sme.email, OutboxMessage.kind == "invoice.credited"))
    for text in (note.number, credited["invoice"].number, "¥60.00", "一个样品测试失败",
                 "创新券退回 ¥40.00", f"/invoices/{note.id}"):
        assert text in body, text


def test_the_note_and_its_invoice_say_what_went_back_to_the_voucher(client, login, credited):
    note, invoice = credited["note"], credited["invoice"]
    login(credited["sme"])
    page = client.get(f"/invoices/{note.id}").get_data(as_text=True)
    assert 'id="voucher-returned"' in page and "¥40.00" in page and invoice.number in page
    listed = client.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    assert "¥40.00 已退回创新券" in listed
    # beside the deduction as issued: what the voucher pays now (it read ¥160 still)
    assert "其中已因红字冲销单退回创新券 ¥40.00（创新券现抵扣 ¥120.00）" in listed


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed")
def test_the_note_pdf_says_it_too(client, login, credited, tmp_path):
    login(credited["sme"])
    response = client.get(f"/invoices/{credited['note'].id}.pdf")
    path = tmp_path / "note.pdf"
    path.write_bytes(response.data)
    text = subprocess.run([shutil.which("pdftotext"), "-layout", str(path), "-"],  # noqa: S603
                          capture_output=True, text=True, check=True).stdout
    assert "Returned to the innovation voucher" in text and "¥40.00" in text


def test_a_note_on_an_invoice_without_a_voucher_says_nothing_of_one(client, login, make):
    owner = make.organisation(short_code="DLUTD")
    finance = make.user(role="finance", organisation=owner)
    customer = make.user(organisation=make.enterprise())
    with freeze_time(SUNDAY_10_MAY_10AM):
        booking = make.placed_booking(make.instrument(organisation=owner), customer,
                                      MONDAY_11_MAY_9AM)
    with freeze_time(MONDAY_11_MAY_9AM):
        session = metering.check_in(booking, actor=customer, source="kiosk")
    with freeze_time(MONDAY_11_MAY_9AM + timedelta(hours=1)):
        metering.check_out(session, actor=customer)
        db.session.commit()
        invoice = db.session.scalar(select(Invoice))
        login(finance)
        client.post(f"/invoices/{invoice.id}/credit", data={"amount": "60.00", "reason": "x"})
        note = db.session.scalar(select(Invoice).where(Invoice.credits_id == invoice.id))
        page = client.get(f"/invoices/{note.id}").get_data(as_text=True)
    assert note is not None and 'id="voucher-returned"' not in page
    body = db.session.scalar(select(OutboxMessage.body).where(
        OutboxMessage.kind == "invoice.credited"))
    assert "创新券" not in body


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed")
def test_the_note_pdf_names_the_invoice_it_credits(client, login, credited, tmp_path):
    login(credited["sme"])
    path = tmp_path / "note.pdf"
    path.write_bytes(client.get(f"/invoices/{credited['note'].id}.pdf").data)
    text = subprocess.run([shutil.which("pdftotext"), "-layout", str(path), "-"],  # noqa: S603
                          capture_output=True, text=True, check=True).stdout
    assert "Credits invoice" in text and credited["invoice"].number in text


def test_the_rest_of_an_open_invoice_credited_gives_the_voucher_its_whole_share(
        client, login, credited):
    """The customer's 180 still open credited too: the invoice is settled by the two notes,
    the voucher gets its whole share back and the bureau owes the provider nothing for it."""
    from booking.subsidies.reimbursements import unclaimed_of

    invoice, voucher = credited["invoice"], credited["voucher"]
    assert (invoice.state, invoice.outstanding_fen) == ("issued", 18_000)
    with freeze_time(MONDAY_11_MAY_9AM + timedelta(hours=2)):
        login(credited["finance"])
        client.post(f"/invoices/{invoice.id}/credit",
                    data={"amount": "180.00", "reason": "测试作废"})
    assert invoice.state == "paid" and invoice.deducted_fen == 24_000
    assert voucher.remaining_fen == 5_000_000
    assert unclaimed_of(invoice.provider_id)[1] == 0


def test_the_credit_form_says_what_the_voucher_gets_back(client, login, credited):
    """Reported: finance typed ¥1,000 to take off a fee charged twice, and the voucher's share
    shrank by ¥666.67 as well; the form's help said so nowhere on the page."""
    login(credited["finance"])
    page = client.get(f"/invoices/{credited['invoice'].id}").get_data(as_text=True)
    # 160 of the 240 due: the voucher gets back 2/3 of what the customer does (40 already)
    assert 'id="credit-voucher-share"' in page
    assert "创新券为本账单抵扣了 ¥160.00" in page and "每冲销给客户 ¥100.00，创新券退回 ¥66.67" in page
    assert "客户从其应付金额" in page  # the amount's own help, shown at last


def test_the_revenue_net_takes_off_the_voucher_share_a_credit_gave_back(client, login, credited):
    """Reported: the revenue's net after credit notes took off the customer's ¥60 only, not
    the voucher's ¥40 that went back with it: the lab was shown ¥40 it will never receive."""
    from booking.billing import reports

    invoice = credited["invoice"]
    assert reports.credited_in(invoice.provider_id, 2026) == 6_000 + 4_000
    login(credited["finance"])
    page = client.get("/finance/revenue?year=2026").get_data(as_text=True)
    assert "−¥100.00" in page and "¥300.00" in page  # 400 invoiced, 100 taken off


def test_a_part_payment_shows_in_the_totals(client, login, credited):
    """Reported: ¥240 due, ¥60 credited, ¥100 paid by transfer, and 'left to pay ¥80' with
    the ¥100 only in the small print: the totals did not add up on screen."""
    invoice = credited["invoice"]
    with freeze_time(MONDAY_11_MAY_9AM + timedelta(hours=2)):
        login(credited["finance"])
        sent = client.post(f"/invoices/{invoice.id}/bank-transfer", data={
            "amount": "100.00", "received_on": "2026-05-11", "reference": "BANK-1"})
        assert sent.location.endswith(f"/invoices/{invoice.id}")
        page = client.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    paid = page[page.index('id="paid-line"'):page.index('id="left-to-pay"')]
    assert "已付" in paid and "−¥100.00" in paid
    assert "¥80.00" in page[page.index('id="left-to-pay"'):]
    with freeze_time(MONDAY_11_MAY_9AM + timedelta(hours=3)):  # the rest: paid in all
        client.post(f"/invoices/{invoice.id}/bank-transfer", data={
            "amount": "80.00", "received_on": "2026-05-11", "reference": "BANK-2"})
        page = client.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    paid = page[page.index('id="paid-line"'):].split("</tr>")[0]
    assert invoice.state == "paid" and 'id="left-to-pay"' not in page
    assert "<th" in paid and ">已付<" in paid and "−¥180.00" in paid  # not "支付日期" (a date's)


def test_the_lab_s_way_back_is_its_usage_page(client, login, make, credited):
    """Reported: a lab manager opening an invoice from the usage page was sent back to 'my
    invoices', which are not their bills."""
    from booking.accounts.models import Organisation

    invoice = credited["invoice"]
    login(make.user(role="lab_manager", organisation=db.session.get(Organisation,
                                                                    invoice.provider_id)))
    page = client.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    back = page[page.index('id="back-link"'):].split("</a>")[0]
    assert f'/instruments/{invoice.lines[0].instrument_id}/usage' in back and "我的账单" not in back
