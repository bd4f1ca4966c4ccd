"""Invoice page (print, pay, finance actions), my invoices, finance views, exports, CLI."""
import io
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from freezegun import freeze_time
from openpyxl import load_workbook
from sqlalchemy import func, select

from booking.billing import close, dunning, invoicing, payments, signals
from booking.billing import pdf as billing_pdf
from booking.billing.models import Invoice
from booking.core.clock import to_local
from booking.core.db import utc
from booking.core.notifications import OutboxMessage
from booking.extensions import db
from booking.metering import services as metering
from tests.moments import MONDAY_2_MAR_9AM
from tests.web.matrix import audit_actions


@pytest.fixture
def sold(make):
    owner = make.organisation(short_code="DLUTB", name_en="Dalian Test University")
    instrument = make.instrument(organisation=owner)
    customer_org = make.organisation(kind="enterprise", name_zh="大连某科技有限公司")
    customer = make.user(organisation=customer_org)
    booking = make.placed_booking(instrument, customer, MONDAY_2_MAR_9AM)
    with freeze_time(MONDAY_2_MAR_9AM):
        session = metering.check_in(booking, actor=customer, source="kiosk")
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(minutes=50)):
        metering.check_out(session, actor=customer)
    db.session.commit()
    invoice = db.session.scalar(select(Invoice).where(Invoice.customer_user_id == customer.id))
    return {"invoice": invoice, "customer": customer, "owner": owner, "instrument": instrument,
            "customer_org": customer_org,
            "finance": make.user(role="finance", organisation=owner),
            "internal": make.user(organisation=owner)}


def test_the_customer_reads_where_to_transfer_the_money(client, login, sold):
    login(sold["customer"])
    url = f"/invoices/{sold['invoice'].id}"
    page = client.get(url).get_data(as_text=True)
    assert 'id="provider-bank-missing"' in page and "/小时" in page and "/h<" not in page
    dunning.save_settings(sold["owner"].id, sold["finance"], bank_name="中国银行大连高新园区支行",
                          bank_account="3012 0100 8888", tax_number="", block_overdue_days=None)
    db.session.commit()
    bank = client.get(url).get_data(as_text=True)
    assert 'id="provider-bank"' in bank
    for text in ("中国银行大连高新园区支行", "3012 0100 8888", sold["owner"].name_zh):
        assert text in bank.split('id="provider-bank"')[1], text
    # the finance office's view and its print carry them too, in the provider's box
    login(sold["finance"])
    own = client.get(url).get_data(as_text=True)
    assert 'id="provider-box-bank">中国银行大连高新园区支行：<span class="font-monospace ' \
        'text-nowrap">3012 0100 8888</span>' in own


def test_invoice_page_shows_what_a_printed_invoice_needs(client, login, sold):
    login(sold["customer"])
    page = client.get(f"/invoices/{sold['invoice'].id}").get_data(as_text=True)
    for text in ("DLUTB-2026-000001", sold["owner"].name_zh, sold["owner"].credit_code,
                 "大连某科技有限公司", sold["customer_org"].credit_code, "¥400.00",
                 "@media print", "计费 60 分钟", "开具日期："):  # a Chinese colon in Chinese
        assert text in page, text
    assert 'id="voucher-line"' not in page
    assert 'id="pay-form"' not in page  # no Stripe keys: bank transfer hint instead
    client.post("/language", data={"locale": "en"})
    english = client.get(f"/invoices/{sold['invoice'].id}").get_data(as_text=True)
    assert "Amount due" in english and "Dalian Test University" in english
    assert "Issued: " in english


def test_invoice_page_with_voucher_shows_the_deduction(client, login, make, sold):
    def offer(invoices):
        return {invoice.id: 10_000 for invoice in invoices}

    signals.invoice_issuing.connect(offer)
    try:
        booking = make.placed_booking(sold["instrument"], sold["customer"],
                                      MONDAY_2_MAR_9AM + timedelta(hours=3))
        with freeze_time(booking.start_at):
            session = metering.check_in(booking, actor=sold["customer"], source="kiosk")
        with freeze_time(booking.start_at + timedelta(minutes=30)):
            metering.check_out(session, actor=sold["customer"])
    finally:
        signals.invoice_issuing.disconnect(offer)
    db.session.commit()
    invoice = db.session.scalar(select(Invoice).where(Invoice.voucher_fen > 0))
    login(sold["customer"])
    page = client.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    assert 'id="voucher-line"' in page and "−¥100.00" in page and "¥100.00" in page


def _assert_untouched(invoice, audit_trail):
    """A refused request left the invoice as it was: open, unpaid, uncredited, unaudited."""
    db.session.expire_all()
    assert (invoice.state, invoice.paid_at, invoice.payments) == ("issued", None, [])
    assert invoice.stripe_payment_intent_id is None
    assert db.session.scalar(select(func.count()).select_from(Invoice).where(
        Invoice.credits_id == invoice.id)) == 0
    assert audit_actions(invoice) == audit_trail


def test_invoice_page_denials(client, login, make, sold):
    url = f"/invoices/{sold['invoice'].id}"
    trail = audit_actions(sold["invoice"])
    assert client.get(url).status_code == 302
    login(make.user(organisation=sold["customer_org"]))  # colleague: not their invoice
    denied = client.get(url)
    assert denied.status_code == 403 and sold["invoice"].number not in denied.get_data(as_text=True)
    intent = client.post(f"{url}/payment-intent")
    assert intent.status_code == 403 and intent.get_json()["error"]["code"] == "forbidden"
    assert client.post(f"{url}/bank-transfer", data={"reference": "x"}).status_code == 403
    assert client.get("/invoices/99999").status_code == 404
    _assert_untouched(sold["invoice"], trail)


def test_my_invoices_lists_own_only(client, login, make, sold):
    login(sold["customer"])
    assert "DLUTB-2026-000001" in client.get("/invoices").get_data(as_text=True)
    client.post("/logout")
    login(make.user())
    assert "DLUTB-2026-000001" not in client.get("/invoices").get_data(as_text=True)


def test_finance_records_bank_transfer_and_credit_note(client, login, sold):
    login(sold["finance"])
    url = f"/invoices/{sold['invoice'].id}"
    assert "登记银行转账" in client.get(url).get_data(as_text=True)
    client.post(f"{url}/bank-transfer", data={
        "reference": "BOC 2026-03-05", "received_on": "2026-03-05",
        "amount": f"{sold['invoice'].amount_due_fen / 100:.2f}"})
    assert sold["invoice"].state == "paid"
    # paid on the day the money arrived, not the day (and hour) it was recorded
    assert 'id="paid-on">支付日期：2026-03-05<' in client.get(url).get_data(as_text=True)
    client.post(f"{url}/void", data={"reason": "oops"})
    assert sold["invoice"].state == "paid"  # paid: credit note, never void
    assert "invoice.voided" not in audit_actions(sold["invoice"])
    client.post(f"{url}/credit", data={"amount": "50.00", "reason": "goodwill"})
    note = db.session.scalar(select(Invoice).where(Invoice.credits_id == sold["invoice"].id))
    assert note.amount_due_fen == 5_000
    bad = client.post(f"{url}/credit", data={"amount": "9999", "reason": "too much"},
                      follow_redirects=True)
    assert bad.status_code == 422 and "不超过剩余可冲销金额" in bad.get_data(as_text=True)
    assert 'value="too much"' in bad.get_data(as_text=True)  # the refused form keeps its input
    assert db.session.scalar(select(func.count()).select_from(Invoice).where(
        Invoice.credits_id == sold["invoice"].id)) == 1


def test_one_fen_is_an_amount(client, login, sold):
    """Reported: ¥0.01 was refused by its own minimum (Decimal 0.01 < float 0.01)."""
    login(sold["finance"])
    url = f"/invoices/{sold['invoice'].id}"
    client.post(f"{url}/bank-transfer", data={"reference": "R", "received_on": "2026-03-05",
                                              "amount": "0.01"})
    assert [p.amount_fen for p in sold["invoice"].payments] == [1]
    page = client.get(url).get_data(as_text=True)  # in part: it says so, and what is left
    left = sold["invoice"].amount_due_fen - 1
    assert f'id="partly-paid">已部分支付：尚需支付 ¥{left / 100:,.2f}<' in page
    state = page[page.index('id="invoice-state"'):]
    assert "未支付" not in state[:state.index("</div>")]  # not "unpaid" beside it
    assert f'id="back-link" href="/finance?org={sold["owner"].id}"' in page  # to finance's list


def test_the_customer_sees_a_credit_note_as_money_back_not_as_a_bill(client, login, sold):
    login(sold["finance"])  # paid first: the credit is then money to pay back
    client.post(f"/invoices/{sold['invoice'].id}/bank-transfer",
                data={"reference": "R", "received_on": "2026-03-05", "amount": "400.00"})
    client.post(f"/invoices/{sold['invoice'].id}/credit", data={"amount": "100.00",
                                                                "reason": "goodwill"})
    note = db.session.scalar(select(Invoice).where(Invoice.credits_id == sold["invoice"].id))
    client.post("/logout")
    login(sold["customer"])
    page = client.get("/invoices?state=credit").get_data(as_text=True)
    row = page[page.index(f'id="invoice-{note.id}"'):]
    row = row[:row.index("</tr>")]
    assert "−¥100.00" in row and "待退还" in row and "未支付" not in row
    assert note.due_at is None or note.due_at.strftime("%Y-%m-%d") not in row
    unpaid = client.get("/invoices?state=unpaid").get_data(as_text=True)
    assert f'id="invoice-{note.id}"' not in unpaid


def test_a_penalty_line_shows_the_share_it_charges_and_a_refund_is_no_hour(client, login,
                                                                           sold):
    """"未到场 | 0.50 | ¥120.00/小时 | ¥30.00" did not add up; a credit note's refund was
    counted in hours ("小时 1.00")."""
    from booking.billing.models import InvoiceLine

    invoice = Invoice(provider_id=sold["owner"].id, customer_org_id=sold["customer_org"].id,
                      customer_user_id=sold["customer"].id, number="DLUTB-2026-000099",
                      state="issued", issued_at=MONDAY_2_MAR_9AM, customer_class="enterprise",
                      subtotal_fen=3_000, amount_due_fen=3_000, lines=[InvoiceLine(
                          kind="no_show",
                          description=f"{sold['instrument'].name_zh} 2026-03-03 10:00",
                          quantity=Decimal("0.50"), unit_price_fen=12_000, amount_fen=3_000,
                          instrument_id=sold["instrument"].id)])
    db.session.add(invoice)
    db.session.commit()
    login(sold["customer"])
    page = client.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    assert "¥120.00/小时 × 50%" in page and "<th class=\"text-end\">小时</th>" in page
    client.post("/language", data={"locale": "en"})  # the instrument's English name in English
    english = client.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    assert f"{sold['instrument'].name_en} 2026-03-03 10:00 · no-show" in english
    client.post("/language", data={"locale": "zh_CN"})
    client.post("/logout")
    login(sold["finance"])
    credited = sold["invoice"]
    client.post(f"/invoices/{credited.id}/credit", data={"amount": "100.00", "reason": "goodwill"})
    note = db.session.scalar(select(Invoice).where(Invoice.credits_id == credited.id))
    refund = client.get(f"/invoices/{note.id}").get_data(as_text=True)
    # credited while open: the credited invoice says the credit is taken off what it asks
    credited_page = client.get(f"/invoices/{credited.id}").get_data(as_text=True)
    assert "已抵减应付金额 ¥100.00" in credited_page and "待付 ¥300.00" in credited_page
    assert "<th class=\"text-end\">数量</th>" in refund and ">小时</th>" not in refund


def test_customer_cannot_record_payments(client, login, sold):
    login(sold["customer"])
    url = f"/invoices/{sold['invoice'].id}"
    trail = audit_actions(sold["invoice"])
    assert client.post(f"{url}/bank-transfer", data={"reference": "x"}).status_code == 403
    assert client.post(f"{url}/void", data={"reason": "x"}).status_code == 403
    assert client.post(f"{url}/credit", data={"amount": "1", "reason": "x"}).status_code == 403
    _assert_untouched(sold["invoice"], trail)


def _internal_invoice(sold, make) -> Invoice:
    """The month's invoice of the provider's own member, who used the instrument once."""
    make.usage_session(sold["instrument"], sold["internal"], MONDAY_2_MAR_9AM + timedelta(days=1))
    close.close_month("2026-03")
    db.session.commit()
    return db.session.scalar(select(Invoice).where(
        Invoice.customer_user_id == sold["internal"].id))


def test_internal_user_settles_from_a_project_account_never_free_text(client, login, sold, make):
    from tests.factories.groups import create_group, create_project

    invoice = _internal_invoice(sold, make)
    pi = make.user(organisation=sold["internal"].organisation)
    project = create_project(create_group(pi, members=[sold["internal"]]), number="DUT-21-07")
    other = create_project(create_group(make.user(organisation=pi.organisation)), number="X-1")
    login(sold["internal"])
    page = client.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    assert 'name="grant_code"' not in page and "DUT-21-07" in page and "X-1" not in page
    client.post(f"/invoices/{invoice.id}/settle-internal", data={"project": other.id})
    assert invoice.state == "issued"  # not a project of theirs
    client.post(f"/invoices/{invoice.id}/settle-internal", data={"project": project.id})
    assert invoice.state == "paid" and invoice.payments[0].method == "internal"
    assert invoice.payments[0].project_id == project.id
    from booking.groups.services import budget_of
    assert budget_of(project).spent_fen == invoice.amount_due_fen


def test_the_finance_office_settles_on_the_pis_word_from_the_invoice_page(client, login,
                                                                          sold, make):
    """Reported: a charge above the PI's threshold told the member "the finance office settles
    it once the PI agrees", but the office's invoice page had no way to."""
    from tests.factories.groups import create_group, create_project

    invoice = _internal_invoice(sold, make)
    pi = make.user(organisation=sold["internal"].organisation)
    project = create_project(create_group(pi, members=[sold["internal"]], threshold_fen=100,
                                          approval_mode="above_fee"), number="PI-ASKS")
    login(sold["internal"])
    refused = client.post(f"/invoices/{invoice.id}/settle-internal",
                          data={"project": project.id}, follow_redirects=True)
    assert "导师同意后由财务处结算" in refused.get_data(as_text=True) and invoice.state == "issued"
    login(sold["finance"])
    page = client.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    assert 'id="office-settle-form"' in page and "PI-ASKS" in page
    client.post(f"/invoices/{invoice.id}/settle-internal", data={"project": project.id})
    assert invoice.state == "paid" and invoice.payments[0].project_id == project.id


def test_finance_page_and_exports(client, login, make, sold):
    url = "/finance"
    login(sold["customer"])
    assert client.get(url).status_code == 403
    assert client.get(f"/finance/{sold['owner'].id}/revenue.csv?year=2026").status_code == 403
    client.post("/logout")
    login(make.user(role="finance"))  # finance of another organisation
    assert client.get(f"/finance/{sold['owner'].id}/revenue.csv?year=2026").status_code == 403
    client.post("/logout")
    login(sold["finance"])
    page = client.get(f"{url}?year=2026").get_data(as_text=True)
    assert "DLUTB-2026-000001" in page and "2026-03" in page
    csv = client.get(f"/finance/{sold['owner'].id}/revenue.csv?year=2026")
    text = csv.data.decode("utf-8-sig")
    with force_locale("zh_CN"):  # headers as the reader reads them: Chinese in the Chinese UI
        assert text.splitlines()[0].startswith(f"{_l('Month')},{_l('Instrument id')},")
    assert "2026-03" in text and "400.00" in text
    usage = client.get(f"/finance/{sold['owner'].id}/usage.csv?year=2026").data.decode("utf-8-sig")
    assert len(usage.splitlines()) == 2 and ",50,60,40000,40000,400.00" in usage
    assert ",企业," in usage and ",enterprise," not in usage  # the class as the reader names it
    assert ",企业," in text
    xlsx = client.get(f"/finance/{sold['owner'].id}/open.xlsx?year=2026")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert sheet.cell(2, 1).value == "DLUTB-2026-000001" and sheet.cell(2, 6).value == 40_000
    # a credit note while the invoice is open lowers what is outstanding on it
    from booking.billing.invoicing import credit_note
    from booking.billing.payments import record_bank_transfer

    def open_rows():
        return list(load_workbook(io.BytesIO(client.get(
            f"/finance/{sold['owner'].id}/open.xlsx?year=2026").data)).active.values)

    deducted = credit_note(sold["invoice"], 5_000, "重复计费", sold["finance"])
    db.session.commit()
    rows = open_rows()
    assert (rows[1][0], rows[1][5], rows[1][7]) == ("DLUTB-2026-000001", 40_000, 350)
    assert deducted.number not in [row[0] for row in rows]
    # one once paid is still to refund: an open item, what the provider owes, negative
    record_bank_transfer(sold["invoice"], sold["finance"], "BOC-9")
    note = credit_note(sold["invoice"], 2_000, "重复计费", sold["finance"])
    db.session.commit()
    rows = open_rows()
    refund = next(row for row in rows if row[0] == note.number)
    assert (refund[5], refund[7], refund[8]) == (-2_000, -20, "待退款的红字冲销单")
    assert "DLUTB-2026-000001" not in [row[0] for row in rows]
    issued = datetime.combine(to_local(note.issued_at).date(), time())  # a day, no time
    assert rows[0][8] == "类型" and refund[3] == issued


def test_an_overpayment_is_in_finance_s_open_items_and_list(client, login, make, sold):
    """Reported: ¥647.50 paid beyond an invoice was 'carried as the customer's balance', and
    the finance office saw it nowhere (list, overdue, exports): nothing to refund or set off."""
    from booking.billing.payments import record_bank_transfer

    invoice, issued = sold["invoice"], sold["invoice"].issued_at
    record_bank_transfer(invoice, sold["finance"], "BOC-OVER", amount_fen=45_000,
                         overpay=True)
    exact = make.issued_invoice(sold["instrument"], sold["customer_org"], 30_000, issued)
    record_bank_transfer(exact, sold["finance"], "BOC-EXACT")  # paid, not overpaid
    elsewhere = make.issued_invoice(make.instrument(), sold["customer_org"], 30_000, issued)
    record_bank_transfer(elsewhere, sold["finance"], "BOC-ELSE", amount_fen=31_000,
                         overpay=True)  # another provider's overpayment
    db.session.commit()
    login(sold["finance"])
    rows = list(load_workbook(io.BytesIO(client.get(
        f"/finance/{sold['owner'].id}/open.xlsx?year=2026").data)).active.values)
    carried = next(row for row in rows if row[0] == invoice.number)
    # settled: what is owed is the ¥50 back to the customer, not the invoice's ¥400
    assert (carried[5], carried[7], carried[8]) == (-5_000, -50, "为客户结转的多付款")
    assert {exact.number, elsewhere.number}.isdisjoint(row[0] for row in rows)
    listing = client.get(f"/finance?org={sold['owner'].id}&state=overpaid").get_data(as_text=True)
    assert f'id="invoice-{invoice.id}"' in listing and "多付 ¥50.00" in listing
    assert f'id="invoice-{exact.id}"' not in listing and f'id="invoice-{elsewhere.id}"' not in listing
    assert 'id="carried-balances"' in listing and "¥50.00" in listing.split('id="carried-balances"')[1][:300]
    paid_only = client.get(f"/finance?org={sold['owner'].id}&state=overpaid&q=NOSUCH")
    assert f'id="invoice-{invoice.id}"' not in paid_only.get_data(as_text=True)


def test_cli_close_is_idempotent(app, make, sold):
    make.usage_session(sold["instrument"], sold["internal"], MONDAY_2_MAR_9AM + timedelta(days=2))
    runner = app.test_cli_runner()
    first = runner.invoke(args=["billing", "close", "--month", "2026-03"])
    assert first.exit_code == 0 and "1 invoices" in first.output, first.output
    [mail] = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.recipient == sold["internal"].email)).all()
    assert mail.kind == "invoice.issued" and mail.sent_at is not None  # sent after the commit
    second = runner.invoke(args=["billing", "close", "--month", "2026-03"])
    assert "0 invoices" in second.output
    bad = runner.invoke(args=["billing", "close", "--month", "2026-13"])
    assert bad.exit_code != 0 and "YYYY-MM" in bad.output


def test_cli_close_refuses_a_month_that_has_not_ended(app, make, sold):
    make.usage_session(sold["instrument"], sold["internal"], MONDAY_2_MAR_9AM)
    runner = app.test_cli_runner()
    invoices = db.session.scalar(select(func.count(Invoice.id)))
    with freeze_time(utc(2026, 3, 31, 15, 59)):  # 23:59 on 31 March in Shanghai
        early = runner.invoke(args=["billing", "close", "--month", "2026-03"])
    assert early.exit_code != 0 and "2026-03 has not ended" in early.output
    assert db.session.scalar(select(func.count(Invoice.id))) == invoices
    with freeze_time(utc(2026, 3, 31, 16)):  # midnight: April has begun
        closed = runner.invoke(args=["billing", "close", "--month", "2026-03"])
    assert closed.exit_code == 0 and "1 invoices" in closed.output, closed.output


def test_cli_mark_no_shows(app, make, sold):
    make.placed_booking(sold["instrument"], sold["internal"], MONDAY_2_MAR_9AM + timedelta(days=3))
    with freeze_time(MONDAY_2_MAR_9AM + timedelta(days=4)):
        result = app.test_cli_runner().invoke(args=["usage", "mark-no-shows"])
    assert "1 bookings marked no-show" in result.output


def test_invoice_shows_samples_lines_in_page_pdf_api_and_exports(client, login, make, api_token,
                                                                  sold):
    instrument = make.instrument(organisation=sold["owner"], per_sample_fee_fen=8_000)
    booking = make.placed_booking(instrument, sold["customer"], MONDAY_2_MAR_9AM + timedelta(hours=3),
                                  mode="staff_operated", sample_count=3)
    with freeze_time(booking.start_at):
        session = metering.check_in(booking, actor=sold["customer"], source="kiosk")
    with freeze_time(booking.start_at + timedelta(minutes=50)):
        metering.check_out(session, actor=sold["customer"])
    db.session.commit()
    invoice = db.session.scalar(select(Invoice).where(Invoice.number == "DLUTB-2026-000002"))
    assert invoice.subtotal_fen == 40_000 + 24_000
    login(sold["customer"])
    page = client.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    for text in ('<span class="line-samples">送样检测</span>', "3 个样品", "¥80.00/样品",
                 "¥240.00", "¥640.00"):
        assert text in page, text
    pdf = client.get(f"/invoices/{invoice.id}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    line = next(li for li in invoice.lines if li.kind == "samples")
    with force_locale("en"):  # bilingual whatever the reader's language, as the PDF's labels
        assert " · 送样检测 Samples sent in (3 个样品 3 samples)<br/>" in billing_pdf._item(line)
    body = client.get(f"/api/v1/invoices/{invoice.id}",
                      headers=api_token(sold["customer"])).get_json()
    samples = [line for line in body["lines"] if line["kind"] == "samples"]
    assert [(s["quantity"], s["unit_price_fen"], s["amount_fen"], s["booking_id"])
            for s in samples] == [(3.0, 8_000, 24_000, booking.id)]
    client.post("/logout")
    login(sold["finance"])
    revenue = client.get(f"/finance/{sold['owner'].id}/revenue.csv?year=2026")
    # the instrument's revenue counts both lines: 60 min of use and the samples
    assert revenue.status_code == 200 and ",2,60,64000,640.00" in revenue.data.decode("utf-8-sig")



@pytest.mark.parametrize("settled", [False, True], ids=["void", "refunded_credit_note"])
def test_voiding_what_cannot_be_voided_is_refused_not_a_crash(client, login, sold, settled):
    """A void invoice, or a credit note already paid back, has no payments: the void form got
    past the refusals to the state machine's guard, and the page failed with a 500."""
    login(sold["finance"])
    client.post("/language", data={"locale": "en"})
    target = sold["invoice"]
    if settled:
        payments.record_bank_transfer(target, sold["finance"], "BOC 1")
        target = invoicing.credit_note(target, 1_000, "refund", sold["finance"], settled=True)
    else:
        invoicing.void_invoice(target, sold["finance"], "wrong customer")
    db.session.commit()
    state = target.state
    response = client.post(f"/invoices/{target.id}/void", data={"reason": "again"})
    assert response.status_code == 422
    assert "Only a draft or issued invoice can be voided." in response.get_data(as_text=True)
    db.session.expire_all()
    assert target.state == state and target.void_reason != "again"
