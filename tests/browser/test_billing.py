"""The whole money path in Chromium: kiosk check-in and check-out, the invoice issued at
check-out, card payment through localstripe's Stripe.js stand-in, paid after the webhook.

localstripe's Stripe.js stand-in does not turn the card element into a PaymentMethod (its
confirmCardPayment only completes 3-D Secure on an intent that already has one). The test
therefore attaches a 3-D Secure test card to the invoice's PaymentIntent server-side, as real
Stripe.js would from the typed card; the page then runs the real code path: fetch the client
secret, confirmCardPayment, authenticate, wait for the webhook. The `shop` app and the
`attach_3ds_card` stand-in live in conftest.py.
"""
import os
from datetime import timedelta

import pytest

from booking.core.clock import now_utc
from booking.extensions import db
from tests.browser.helpers import follow
from tests.factories import Factory

pytestmark = [pytest.mark.browser, pytest.mark.committing]


@pytest.fixture
def customer_booking(shop):
    with shop["app"].app_context():
        make = Factory()
        owner = make.organisation(name_zh="大连理工大学（测试）")  # a fresh one per test
        instrument = make.instrument(organisation=owner)
        manager = make.user(role="lab_manager", organisation=owner)
        from booking.metering.services import create_instrument_token

        _token, raw = create_instrument_token(instrument, "kiosk", manager)
        db.session.commit()
        customer = make.user(organisation=make.organisation(kind="enterprise"),
                             name="王工程师")
        make.placed_booking(instrument, customer, now_utc() - timedelta(minutes=1))
        return {"token": raw, "email": customer.email, "customer_id": customer.id}


def _shot(page, name):
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, f"billing_{name}.png"), full_page=True)


def _use_at_the_kiosk_and_open_the_invoice(page, base, customer_booking):
    """Check in and out at the kiosk (invoiced at check-out), then, signed in as the
    customer, open the invoice."""
    page.goto(base + "/kiosk")
    page.fill("#token", customer_booking["token"])
    page.click("form button[type=submit]")
    page.wait_for_url(base + "/kiosk")
    for expected in ("已签到", "已签退"):
        page.fill("#email", customer_booking["email"])
        page.fill("#password", Factory.PASSWORD)
        with page.expect_navigation():
            page.click("#kiosk-submit")
        assert expected in page.locator(".alert-success").inner_text()
        _shot(page, f"kiosk_{expected}")
    page.goto(base + "/login")
    page.fill("#email", customer_booking["email"])
    page.fill("#password", Factory.PASSWORD)
    page.click("form button[type=submit]")
    page.locator("#user-menu").wait_for()
    page.goto(base + "/invoices")
    follow(page, "#invoices a")


def test_kiosk_use_is_invoiced_and_paid_by_card(shop, customer_booking, attach_3ds_card, page):
    _use_at_the_kiosk_and_open_the_invoice(page, shop["url"], customer_booking)
    assert page.locator("#amount-due").inner_text() == "¥200.00"  # 30 min minimum at 400 元/h
    assert "未支付" in page.locator("#invoice-state").inner_text()
    assert "计费 30 分钟" in page.locator("#invoice-lines").inner_text()

    attach_3ds_card(customer_booking["customer_id"])
    card = page.locator("#card-element")
    for placeholder, value in (("number", "4000002760003184"), ("exp_month", "12"),
                               ("exp_year", "30"), ("cvc", "123"), ("postal_code", "11602")):
        card.locator(f"input[placeholder={placeholder}]").fill(value)
    _shot(page, "invoice_before_pay")
    page.click("#pay-button")
    page.get_by_role("button", name="Complete authentication").click()
    page.locator("#invoice-state").get_by_text("已支付").wait_for(timeout=20_000)
    _shot(page, "invoice_paid")
    assert "付款已收到" in page.locator("#paid-now").inner_text()  # said, not only a badge
    assert page.locator("#pay-form").count() == 0
    assert "¥200.00" in page.locator(".invoice-sheet").first.inner_text()


def test_a_page_left_open_across_a_credit_note_charges_nothing_and_shows_the_new_amount(
        shop, customer_booking, attach_3ds_card, page):
    """Reported: with the payment page open, finance deducted a credit note; the customer's
    authentication then said "Bad request", and a second tap charged the new amount under the
    old amount's button. Now the page says the amount changed and shows it again; the card
    is charged nothing."""
    import stripe
    from sqlalchemy import select

    from booking.billing import invoicing, payments
    from booking.billing.models import Invoice

    _use_at_the_kiosk_and_open_the_invoice(page, shop["url"], customer_booking)
    assert "或通过银行转账付款" in page.inner_text("main")  # beside the card, not instead
    attach_3ds_card(customer_booking["customer_id"])
    with shop["app"].app_context():  # finance, meanwhile: a credit note of ¥50
        invoice = db.session.scalar(select(Invoice).where(
            Invoice.customer_user_id == customer_booking["customer_id"]))
        old_intent = invoice.stripe_payment_intent_id
        invoicing.credit_note(invoice, 5_000, "一个样品未测", actor=None)
        db.session.commit()
        payments.retire_stale_intent(invoice)
    client = stripe.StripeClient("sk_test_localstripe", base_addresses={"api": shop["stripe"]})
    assert client.v1.payment_intents.retrieve(old_intent).status == "canceled"
    page.click("#pay-button")
    page.locator("#pay-message").get_by_text("尚需支付的金额已变更").wait_for(timeout=10_000)
    page.locator("#pay-button").get_by_text("¥150.00").wait_for(timeout=10_000)  # reloaded
    assert "未支付" in page.locator("#invoice-state").inner_text()
