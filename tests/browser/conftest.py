"""A live server on a database of its own, and headless Debian Chromium driven by Playwright."""
import os
import threading

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from booking import create_app
from config import TestingConfig

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


def _live_database_url(test_url: str, tmp_path_factory, name: str = "live") -> str:
    """A fresh database beside the test one: a new SQLite file or PostgreSQL `<db>_<name>`."""
    url = make_url(test_url)
    if url.get_backend_name() != "postgresql":
        return "sqlite:///" + str(tmp_path_factory.mktemp(name) / f"{name}.sqlite")
    live_name = f"{url.database}_{name}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{live_name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{live_name}"'))
    admin.dispose()
    return url.set(database=live_name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def live_app(database_url, tmp_path_factory):
    """The live server's app (migrated, demo accounts seeded); tests add data in its context."""
    class LiveConfig(TestingConfig):
        SQLALCHEMY_DATABASE_URI = _live_database_url(database_url, tmp_path_factory)
        WTF_CSRF_ENABLED = True  # the browser goes through real forms
        UPLOAD_DIR = str(tmp_path_factory.mktemp("live_uploads"))

    app = create_app(LiveConfig)
    with app.app_context():
        from flask_migrate import upgrade

        from booking.accounts.demo import seed_accounts
        from booking.extensions import db

        upgrade()
        seed_accounts()
        db.session.commit()
    return app


@pytest.fixture(scope="session")
def live_server(live_app):
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    live_app.config["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
    yield live_app.config["PUBLIC_BASE_URL"]
    server.shutdown()


@pytest.fixture(scope="module")
def shop(database_url, tmp_path_factory):
    """A live app (demo accounts seeded) wired to a fresh localstripe, whose webhooks come back
    to the app."""
    import requests

    from tests.web.billing.stripe_helpers import WEBHOOK_SECRET, localstripe_server, stripe_config

    with localstripe_server() as stripe_url:
        class LiveConfig(TestingConfig):
            SQLALCHEMY_DATABASE_URI = _live_database_url(database_url, tmp_path_factory,
                                                         "live_billing")
            WTF_CSRF_ENABLED = True
            UPLOAD_DIR = str(tmp_path_factory.mktemp("billing_uploads"))

        app = create_app(LiveConfig)
        app.config.update(stripe_config(stripe_url))
        with app.app_context():
            from flask_migrate import upgrade

            from booking.accounts.demo import seed_accounts
            from booking.extensions import db

            upgrade()
            seed_accounts()
            db.session.commit()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = app.config["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
        requests.post(stripe_url + "/_config/webhooks/app", timeout=10, json={
            "url": base + "/api/v1/stripe/webhook", "secret": WEBHOOK_SECRET}).raise_for_status()
        yield {"app": app, "url": base, "stripe": stripe_url}
        server.shutdown()


@pytest.fixture
def attach_3ds_card(shop):
    """What Stripe.js does with the typed card: localstripe's Stripe.js stand-in does not turn
    the card element into a PaymentMethod (its confirmCardPayment only completes 3-D Secure on
    an intent that already has one), so attach a 3-D Secure test card to the invoice's
    PaymentIntent server-side. Call it with the customer's user id."""
    def attach(customer_id):
        import stripe
        from sqlalchemy import select

        from booking.accounts.models import User
        from booking.billing import payments
        from booking.billing.models import Invoice
        from booking.extensions import db

        with shop["app"].app_context():
            invoice = db.session.scalar(select(Invoice)
                                        .where(Invoice.customer_user_id == customer_id))
            payments.payment_intent_for(invoice, db.session.get(User, customer_id))
            db.session.commit()
            intent_id = invoice.stripe_payment_intent_id
        client = stripe.StripeClient("sk_test_localstripe", base_addresses={"api": shop["stripe"]})
        card = client.v1.payment_methods.create(params={"type": "card", "card": {
            "number": "4000002760003184", "exp_month": 12, "exp_year": 2030, "cvc": "123"}})
        client.v1.payment_intents.update(intent_id, params={"payment_method": card.id})
        assert client.v1.payment_intents.confirm(intent_id).status == "requires_action"
    return attach


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing (install Debian's chromium)")
        pytest.skip("Debian chromium not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _csp_violations(page) -> list[str]:
    """What the browser console says the Content-Security-Policy blocked (checked after every
    browser test: the pages must pass their own policy)."""
    seen = []
    page.on("console", lambda message: seen.append(message.text)
            if "Content Security Policy" in message.text else None)
    return seen


@pytest.fixture
def page(browser, request):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    violations = _csp_violations(page)
    yield page
    shots = os.environ.get("SCREENSHOT_DIR")
    if shots:
        os.makedirs(shots, exist_ok=True)
        page.screenshot(path=os.path.join(shots, f"{request.node.name}.png"), full_page=True)
    context.close()
    assert violations == []


@pytest.fixture
def phone_page(browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844},
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    violations = _csp_violations(page)
    yield page
    context.close()
    assert violations == []


