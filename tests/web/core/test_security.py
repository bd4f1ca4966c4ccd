"""Regression tests of issue 14, items 3-7: links from configuration, one attempt budget for
every way to sign in, answers that do not tell which accounts exist, production settings that
refuse to start unsafe, security headers, and Stripe events of any shape."""
import pytest
import werkzeug.security
from sqlalchemy import select

from booking import check_production, create_app
from booking.core.notifications import OutboxMessage
from booking.extensions import db, limiter
from config import ProductionConfig, TestingConfig
from tests.web.billing.stripe_helpers import WEBHOOK_SECRET, intent_event, signed


# --- 3. links in e-mails come from configuration -------------------------------------------
def test_reset_link_ignores_the_host_header(app, client, make):
    user = make.user()
    app.config["PUBLIC_BASE_URL"] = "https://instruments.example.cn"
    try:
        response = client.post("/forgot-password", data={"email": user.email},
                               headers={"Host": "evil.example"})
    finally:
        app.config["PUBLIC_BASE_URL"] = "http://localhost"
    assert response.status_code == 302
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "password.reset"))
    assert "https://instruments.example.cn/reset-password/" in message.body
    assert "evil.example" not in message.body


def _production(**settings):
    class Config(ProductionConfig):
        SECRET_KEY = "a-real-secret-for-this-test"  # noqa: S105
        SQLALCHEMY_DATABASE_URI = "sqlite://"
        PUBLIC_BASE_URL = "https://instruments.example.cn"
        RATELIMIT_STORAGE_URI = "redis://127.0.0.1:6379/15"

    for key, value in settings.items():
        setattr(Config, key, value)
    return Config


def test_production_refuses_untrusted_hosts_and_sends_hsts():
    app = create_app(_production())
    client = app.test_client()
    assert client.get("/healthz", headers={"Host": "evil.example"}).status_code == 400
    ok = client.get("/healthz", headers={"Host": "instruments.example.cn"},
                    base_url="https://instruments.example.cn")
    assert ok.status_code == 200
    assert ok.headers["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.parametrize(("setting", "value", "named"), [
    ("PUBLIC_BASE_URL", "", "PUBLIC_BASE_URL"),
    ("RATELIMIT_STORAGE_URI", "memory://", "RATELIMIT_STORAGE_URI"),
    ("SECRET_KEY", "dev-only-not-secret", "SECRET_KEY")])
def test_production_refuses_to_start_unsafe(setting, value, named):
    config = {k: getattr(_production(), k) for k in dir(_production()) if k.isupper()}
    config[setting] = value
    with pytest.raises(RuntimeError, match=named):
        check_production(config)


# --- 4 and 5. one attempt budget; unknown accounts cost the same ----------------------------
@pytest.fixture
def tight_limit(app):
    app.config["LOGIN_RATE_LIMIT"] = "5 per minute"
    limiter.reset()
    yield
    app.config["LOGIN_RATE_LIMIT"] = TestingConfig.LOGIN_RATE_LIMIT
    limiter.reset()


def test_token_creation_is_limited_per_account(client, make, tight_limit):
    user = make.user()
    codes = [client.post("/api/v1/tokens", json={"email": user.email, "password": "wrong"},
                         environ_base={"REMOTE_ADDR": f"10.0.0.{i}"}).status_code
             for i in range(7)]
    assert codes == [401] * 5 + [429] * 2
    right = client.post("/api/v1/tokens", json={"email": user.email, "password": make.PASSWORD},
                        environ_base={"REMOTE_ADDR": "10.0.1.1"})
    assert right.status_code == 429 and right.get_json()["error"]["code"] == "rate_limited"


def test_login_tokens_and_reset_share_one_budget(client, make, tight_limit):
    """Attempts on three doors count against one budget per address."""
    user = make.user()
    for _ in range(2):
        client.post("/api/v1/tokens", json={"email": user.email, "password": "wrong"})
    for _ in range(2):
        client.post("/login", data={"email": user.email, "password": "wrong"})
    assert client.post("/forgot-password", data={"email": "other@example.cn"}).status_code == 302
    assert client.post("/login", data={"email": "third@example.cn", "password": "x"}
                       ).status_code == 429


def test_unknown_accounts_cost_a_password_hash_too(client, make, monkeypatch):
    """The answer for an unknown address does the same work as for a known one: one hash of
    the configured cost (timing is measured in bench/, never asserted in tests)."""
    user = make.user()
    costs = []
    original = werkzeug.security.check_password_hash

    def counting(pwhash, password):
        costs.append(pwhash.split("$")[0])
        return original(pwhash, password)

    monkeypatch.setattr("booking.accounts.services.check_password_hash", counting)
    monkeypatch.setattr("booking.accounts.models.check_password_hash", counting)
    for email in (user.email, "nobody@example.cn"):
        response = client.post("/api/v1/tokens", json={"email": email, "password": "wrong"})
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "invalid_credentials"
    assert len(costs) == 2 and costs[0] == costs[1]


# --- 6. security headers -------------------------------------------------------------------
@pytest.mark.parametrize("url", ["/", "/login", "/api/v1/instruments", "/healthz",
                                 "/static/js/app.js"])
def test_every_answer_carries_security_headers(client, url):
    response = client.get(url)
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers  # only in production


def test_inline_scripts_carry_the_pages_nonce(client, make, login):
    login(make.user(role="bureau_staff"))
    response = client.get("/vouchers/dashboard")
    nonce = response.headers["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    page = response.get_data(as_text=True)
    assert f'<script nonce="{nonce}">' in page
    assert " onclick=" not in page and " onsubmit=" not in page


# --- 7. Stripe events of any shape ---------------------------------------------------------
@pytest.fixture
def webhook(app):
    app.config["STRIPE_WEBHOOK_SECRET"] = WEBHOOK_SECRET
    yield
    app.config["STRIPE_WEBHOOK_SECRET"] = ""


@pytest.mark.parametrize("mangle", [
    lambda e: e.pop("data"),
    lambda e: e["data"].pop("object"),
    lambda e: e.pop("id"),
    lambda e: e.pop("type"),
    lambda e: e["data"]["object"].update(amount_received="lots"),
    lambda e: e["data"]["object"].update(metadata={"invoice_id": str(2**63 + 5)}),
    lambda e: e["data"]["object"].update(metadata="nope"),
    lambda e: e["data"]["object"].pop("id"),
    lambda e: e.update(id=12),
    lambda e: e["data"].update(object=[1, 2]),
])
def test_malformed_signed_stripe_events_are_400(client, webhook, mangle):
    event = intent_event("evt_bad_1", 1, 1000)
    mangle(event)
    body, headers = signed(event)
    response = client.post("/api/v1/stripe/webhook", data=body, headers=headers)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] in ("malformed_event", "unknown_invoice")


def test_an_unsafe_production_start_says_what_to_set_without_a_traceback(tmp_path):
    """Reported: `flask db upgrade` with the production config printed a traceback."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DATABASE_URL")}
    env.update(APP_CONFIG="production", DATABASE_URL=f"sqlite:///{tmp_path}/x.sqlite")
    command = [sys.executable, "-m", "flask", "--app", str(root / "wsgi"), "db", "current"]
    done = subprocess.run(command, env=env, capture_output=True, text=True,  # noqa: S603
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip() == "refusing to start: SECRET_KEY must be set in production"
