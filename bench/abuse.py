"""Replays the attack walk-through of issue 14 against gunicorn (production settings, 2 workers)
and prints each answer's status and time: every one must be a 4xx (or the right success) in
well under 200 ms, and the workers must all still be alive at the end.

    python bench/abuse.py --db postgresql+psycopg://postgres@127.0.0.1:5432/booking_abuse
    (or --db sqlite:////tmp/booking-bench/abuse.sqlite)
"""
import argparse
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import fresh_schema, make_app  # noqa: E402 - after the path set-up
from soak import worker_rss_kib  # noqa: E402

PORT = 8022
BASE = f"http://127.0.0.1:{PORT}"
HUGE = str(2**63 + 5)
SECRET = "whsec_abuse"


def seed(url: str) -> dict:
    from flask_migrate import upgrade

    from booking.accounts.services import create_api_token
    from booking.extensions import db
    from tests.factories import Factory

    fresh_schema(url)
    app = make_app(url)
    with app.app_context():
        upgrade()
        make = Factory()
        instrument = make.instrument(hours="always", lead_minutes=0)
        user = make.user()
        _, token = create_api_token(user, "abuse")
        db.session.commit()
        return {"instrument": instrument.id, "token": token, "email": user.email}


def signed(event: dict) -> tuple[bytes, dict]:
    body = json.dumps(event).encode()
    stamp = int(time.time())
    mac = hmac.new(SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return body, {"Stripe-Signature": f"t={stamp},v1={mac}", "Content-Type": "application/json"}


def attacks(seeded: dict) -> list[tuple[str, dict]]:
    auth = {"Authorization": f"Bearer {seeded['token']}"}
    i = seeded["instrument"]
    far = {"instrument_id": i, "start": "2026-12-20T09:00:00+08:00", "purpose": "x"}
    event = {"id": "evt_x", "type": "payment_intent.succeeded",
             "data": {"object": {"id": "pi_x", "amount_received": "lots", "currency": "cny",
                                 "metadata": {"invoice_id": HUGE}}}}
    body, stripe_headers = signed(event)
    return [
        ("booking ending in 9999", dict(method="POST", url="/api/v1/bookings", headers=auth,
                                        json={**far, "end": "9999-12-31T10:00:00+08:00"})),
        ("booking ending in 4057", dict(method="POST", url="/api/v1/bookings", headers=auth,
                                        json={**far, "end": "4057-03-02T10:00:00+08:00"})),
        ("availability over 8,000 years", dict(method="GET", url=f"/api/v1/instruments/{i}/availability",
                                               params={"start": "0001-01-01T00:00:00+08:00",
                                                       "end": "9999-12-31T00:00:00+08:00"})),
        ("quote in year 9999", dict(method="GET", url=f"/api/v1/instruments/{i}/quote", headers=auth,
                                    params={"start": "9999-12-30T00:00:00-05:00",
                                            "end": "9999-12-31T20:00:00-05:00"})),
        ("usage in year 0001", dict(method="POST", url="/api/v1/usage", headers=auth, json={
            "instrument_id": i, "start": "0001-01-01T00:00:00+08:00",
            "end": "0001-01-01T02:00:00+08:00"})),
        ("calendar in year 0001", dict(method="GET", url=f"/instruments/{i}/calendar.json",
                                       params={"start": "0001-01-01T00:00", "end": "0001-01-02T00:00"})),
        ("instrument id 2^63+5", dict(method="GET", url=f"/api/v1/instruments/{HUGE}")),
        ("org 2^63+5", dict(method="GET", url="/api/v1/instruments", params={"org": HUGE})),
        ("page 2^63+5", dict(method="GET", url="/api/v1/instruments", params={"page": HUGE})),
        ("lone surrogate in purpose", dict(method="POST", url="/api/v1/bookings", headers={
            **auth, "Content-Type": "application/json"}, data=(
            '{"instrument_id": %d, "start": "2026-12-20T09:00:00+08:00", "end": '  # noqa: UP031
            '"2026-12-20T10:00:00+08:00", "purpose": "\\ud800x"}' % i).encode())),
        ("9 MB form to /login", dict(method="POST", url="/login",
                                     data={"email": "a@b.cn", "password": "x" * 9 * 2**20})),
        ("9 MB form to /forgot-password", dict(method="POST", url="/forgot-password",
                                               data={"email": "x" * 9 * 2**20})),
        ("signed Stripe event, amount 'lots'", dict(method="POST", url="/api/v1/stripe/webhook",
                                                    data=body, headers=stripe_headers)),
        ("samples=-5 on the quote", dict(method="GET", url=f"/api/v1/instruments/{i}/quote",
                                         headers=auth, params={
                                             "start": "2026-12-21T09:00:00+08:00",
                                             "end": "2026-12-21T10:00:00+08:00",
                                             "mode": "staff_operated", "samples": "-5"})),
        ("DELETE /api/v1/tokens", dict(method="DELETE", url="/api/v1/tokens")),
        ("forgot password, Host: evil.example", dict(method="POST", url="/forgot-password",
                                                     headers={"Host": "evil.example"},
                                                     data={"email": seeded["email"]})),
        ("token, unknown account", dict(method="POST", url="/api/v1/tokens",
                                        json={"email": "nobody@example.cn", "password": "x"})),
        ("token, known account, wrong password", dict(method="POST", url="/api/v1/tokens",
                                                      json={"email": seeded["email"], "password": "x"})),
    ]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    args = parser.parse_args()
    seeded = seed(args.db)
    env = {**os.environ, "APP_CONFIG": "production", "SECRET_KEY": "abuse-secret",
           "DATABASE_URL": args.db, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/12",
           "PUBLIC_BASE_URL": BASE, "STRIPE_WEBHOOK_SECRET": SECRET,
           "LOGIN_RATE_LIMIT": "1000 per minute"}
    server = subprocess.Popen(  # noqa: S603 - fixed arguments
        [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{PORT}", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                if requests.get(BASE + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        workers = set(worker_rss_kib(server.pid))
        print(f"{'reproduction':40} {'status':>6} {'ms (3 tries)':>22}")
        for name, request in attacks(seeded):
            request = dict(request)
            url = BASE + request.pop("url")
            timings, statuses = [], set()
            for _ in range(3):
                started = time.perf_counter()
                response = requests.request(url=url, timeout=60, **request)
                timings.append((time.perf_counter() - started) * 1000)
                statuses.add(response.status_code)
            print(f"{name:40} {'/'.join(map(str, sorted(statuses))):>6} "
                  f"{' '.join(f'{t:6.1f}' for t in timings):>22}")
        alive = set(worker_rss_kib(server.pid))
        print(f"workers before: {sorted(workers)}, after: {sorted(alive)} "
              f"({'same' if alive == workers else 'RESTARTED'})")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
