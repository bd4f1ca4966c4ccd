"""localstripe on loopback for the real stripe library, and locally signed webhook events."""
import hashlib
import hmac
import json
import socket
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest

WEBHOOK_SECRET = "whsec_test_secret"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(port: int, process: subprocess.Popen, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("localstripe exited")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("localstripe did not start")


@contextmanager
def localstripe_server():
    """Yields the base URL of a fresh localstripe process (stopped afterwards)."""
    port = _free_port()
    command = [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL,  # noqa: S603 - fixed args
                               stderr=subprocess.DEVNULL)
    try:
        _wait_for(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def localstripe():
    with localstripe_server() as url:
        yield url


def stripe_config(base_url: str) -> dict:
    return {"STRIPE_SECRET_KEY": "sk_test_localstripe", "STRIPE_PUBLISHABLE_KEY": "pk_test_local",
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "STRIPE_API_BASE": base_url,
            "STRIPE_JS_URL": f"{base_url}/js.stripe.com/v3/"}


def signed(event: dict, secret: str = WEBHOOK_SECRET, at: int | None = None) -> tuple[bytes, dict]:
    """(body, headers) as Stripe would send them."""
    body = json.dumps(event).encode()
    timestamp = int(time.time()) if at is None else at
    signature = hmac.new(secret.encode(), f"{timestamp}.".encode() + body,
                         hashlib.sha256).hexdigest()
    return body, {"Stripe-Signature": f"t={timestamp},v1={signature}",
                  "Content-Type": "application/json"}


def intent_event(event_id: str, invoice_id, amount: int, currency: str = "cny",
                 kind: str = "payment_intent.succeeded", intent_id: str = "pi_test_1") -> dict:
    return {"id": event_id, "object": "event", "type": kind, "api_version": "2024-06-20",
            "created": int(time.time()), "livemode": False,
            "data": {"object": {"id": intent_id, "object": "payment_intent", "amount": amount,
                                "amount_received": amount if kind.endswith("succeeded") else 0,
                                "currency": currency,
                                "metadata": {"invoice_id": str(invoice_id)},
                                "last_payment_error": {"message": "Your card was declined."}}}}
