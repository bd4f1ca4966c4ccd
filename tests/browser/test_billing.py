"""The whole money path in Chromium: kiosk check-in and check-out, the invoice issued at
check-out, card payment through localstripe's Stripe.js stand-in, paid after the webhook.

localstripe's Stripe.js stand-in does not turn the card element into a PaymentMethod (its
confirmCardPayment only completes 3-D Secure on an intent that already has one). The test
therefore attaches a 3-D Secure test card to the invoice's PaymentIntent server-side, as real
Stripe.js would from the typed card; the page then runs the real code path: fetch the client
secret, confirmCardPayment, authenticate, wait for the webhook.
"""
import os
import threading
from datetime import timedelta

import pytest
import requests
import stripe
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from booking import create_app
from booking.core.clock import now_utc
from booking.extensions import db
from config import TestingConfig
from tests.factories import Factory
from tests.web.billing.stripe_helpers import WEBHOOK_SECRET, localstripe_server, stripe_config

pytestmark = [pytest.mark.browser, pytest.mark.committing]


def _database(test_url: str, tmp_path_factory) -> str:
    url = make_url(test_url)
    if url.get_backend_name() != "postgresql":
        return "sqlite:///" + str(tmp_path_factory.mktemp("billing_live") / "live.sqlite")
    name = f"{url.database}_live_billing"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def shop(database_url, tmp_path_factory):
    """A live app wired to a fresh localstripe, whose webhooks come back to the app."""
    with localstripe_server() as stripe_url:
        class LiveConfig(TestingConfig):
            SQLALCHEMY_DATABASE_URI = _database(database_url, tmp_path_factory)
            WTF_CSRF_ENABLED = True
            UPLOAD_DIR = str(tmp_path_factory.mktemp("billing_uploads"))

        app = create_app(LiveConfig)
        app.config.update(stripe_config(stripe_url))
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        requests.post(stripe_url + "/_config/webhooks/app", timeout=10, json={
            "url": base + "/api/v1/stripe/webhook", "secret": WEBHOOK_SECRET}).raise_for_status()
        yield {"app": app, "url": base, "stripe": stripe_url}
        server.shutdown()


@pytest.fixture
def customer_booking(shop):
    with shop["app"].app_context():
        make = Factory()
        owner = make.organisation(short_code="DLUTX", name_zh="大连理工大学（测试）")
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


def _attach_3ds_card(shop, customer_id):
    """What Stripe.js does with the typed card (see the module docstring)."""
    from booking.accounts.models import User
    from booking.billing import services
    from booking.billing.models import Invoice

    with shop["app"].app_context():
        invoice = db.session.scalar(select(Invoice).where(Invoice.customer_user_id == customer_id))
        services.payment_intent_for(invoice, db.session.get(User, customer_id))
        db.session.commit()
        intent_id = invoice.stripe_payment_intent_id
    client = stripe.StripeClient("sk_test_localstripe", base_addresses={"api": shop["stripe"]})
    card = client.v1.payment_methods.create(params={"type": "card", "card": {
        "number": "4000002760003184", "exp_month": 12, "exp_year": 2030, "cvc": "123"}})
    client.v1.payment_intents.update(intent_id, params={"payment_method": card.id})
    assert client.v1.payment_intents.confirm(intent_id).status == "requires_action"


def test_kiosk_use_is_invoiced_and_paid_by_card(shop, customer_booking, page):
    base = shop["url"]
    page.goto(base + "/kiosk")
    page.fill("#token", customer_booking["token"])
    page.click("form button[type=submit]")
    page.wait_for_url(base + "/kiosk")
    for expected in ("签到成功", "已签退"):
        page.fill("#email", customer_booking["email"])
        page.fill("#password", Factory.PASSWORD)
        page.click("#kiosk-submit")
        page.wait_for_load_state()
        assert expected in page.locator(".alert-success").inner_text()
        _shot(page, f"kiosk_{expected}")

    page.goto(base + "/login")
    page.fill("#email", customer_booking["email"])
    page.fill("#password", Factory.PASSWORD)
    page.click("form button[type=submit]")
    page.locator("#user-menu").wait_for()
    page.goto(base + "/invoices")
    page.click("#invoices a")
    assert page.locator("#amount-due").inner_text() == "¥200.00"  # 30 min minimum at 400 元/h
    assert "未支付" in page.locator("#invoice-state").inner_text()
    assert "计费 30 分钟" in page.locator("#invoice-lines").inner_text()

    _attach_3ds_card(shop, customer_booking["customer_id"])
    card = page.locator("#card-element")
    for placeholder, value in (("number", "4000002760003184"), ("exp_month", "12"),
                               ("exp_year", "30"), ("cvc", "123"), ("postal_code", "11602")):
        card.locator(f"input[placeholder={placeholder}]").fill(value)
    _shot(page, "invoice_before_pay")
    page.click("#pay-button")
    page.get_by_role("button", name="Complete authentication").click()
    page.locator("#invoice-state").get_by_text("已支付").wait_for(timeout=20_000)
    _shot(page, "invoice_paid")
    assert page.locator("#pay-form").count() == 0
    assert "¥200.00" in page.locator(".invoice-sheet").first.inner_text()
