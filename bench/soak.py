"""Soak: a mixed workload against gunicorn on PostgreSQL for a while, reporting errors, p99
per endpoint and the workers' memory at start and end (issue 14).

    python bench/soak.py --db postgresql+psycopg://postgres@127.0.0.1:5432/booking_soak \
        [--seconds 600] [--clients 8]

The server runs with production settings (2 sync workers, Redis rate-limit storage, signed
Stripe webhooks). Each client loops over: browse (directory page and API search), calendar
JSON, book and cancel a slot, and the money cycle of an SME (book, check in, check out, the
invoice issued at check-out, paid by a signed payment_intent.succeeded event). Every answer
other than the expected status counts as an error. Memory is each worker's RSS after a
warm-up (start) and at the end.
"""
import argparse
import hashlib
import hmac
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import fresh_schema, make_app  # noqa: E402 - after the path set-up

PORT = 8021
# A session lasts at least a minute: a client uses its instruments in turn, each at most once
# a minute, as people would.
USE_INSTRUMENTS, USE_EVERY = 4, 16
WEBHOOK_SECRET = "whsec_soak"
BASE = f"http://127.0.0.1:{PORT}"


def seed(url: str, clients: int) -> dict:
    """Per client: an SME user with a token and instruments of its own (always open,
    auto-approved), so clients never contend for a slot."""
    from flask_migrate import upgrade

    from booking.accounts.services import create_api_token
    from booking.extensions import db
    from tests.factories import Factory

    fresh_schema(url)
    app = make_app(url)
    with app.app_context():
        upgrade()
        make = Factory()
        university = make.organisation(name_zh="大连理工大学（压测）")
        people = []
        for _ in range(clients):
            instruments = [make.instrument(organisation=university, hours="always",
                                           lead_minutes=0, max_days_ahead=365)
                           for _ in range(USE_INSTRUMENTS)]
            user = make.user(organisation=make.enterprise())
            _, token = create_api_token(user, "soak")
            people.append({"instrument_ids": [i.id for i in instruments], "token": token})
        db.session.commit()
    return {"people": people}


def start_server(url: str) -> subprocess.Popen:
    env = {**os.environ, "APP_CONFIG": "production", "SECRET_KEY": "soak-secret",
           "DATABASE_URL": url, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/14",
           "PUBLIC_BASE_URL": BASE, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET}
    server = subprocess.Popen(  # noqa: S603 - fixed arguments
        [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{PORT}", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            if requests.get(BASE + "/healthz", timeout=2).status_code == 200:
                return server
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not start")


def worker_rss_kib(master: int) -> dict[int, int]:
    children = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True,
                              check=False).stdout.split()
    rss = {}
    for pid in map(int, children):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss[pid] = int(line.split()[1])
    return rss


def signed(event: dict) -> tuple[bytes, dict]:
    body = json.dumps(event).encode()
    stamp = int(time.time())
    signature = hmac.new(WEBHOOK_SECRET.encode(), f"{stamp}.".encode() + body,
                         hashlib.sha256).hexdigest()
    return body, {"Stripe-Signature": f"t={stamp},v1={signature}",
                  "Content-Type": "application/json"}


class Client:
    """One virtual user: its own instrument and token, a slot cursor, and what it measured."""

    def __init__(self, person: dict, n: int, stats, errors):
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {person['token']}"
        self.instruments = person["instrument_ids"]
        self.instrument = self.instruments[0]
        self.n, self.stats, self.errors = n, stats, errors
        self.uses, self.next_use = 0, 0.0
        self.far = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + \
            timedelta(days=30)
        self.events = 0

    def call(self, name: str, expected: int, method: str, path: str, **kwargs):
        started = time.perf_counter()
        try:
            response = self.http.request(method, BASE + path, timeout=30, **kwargs)
        except requests.RequestException as exc:
            self.errors.append((name, repr(exc)[:200]))
            return None
        self.stats[name].append(time.perf_counter() - started)
        if response.status_code != expected:
            self.errors.append((name, f"{response.status_code} {response.text[:200]}"))
            return None
        return response

    def browse(self):
        self.call("GET / (directory page)", 200, "GET", "/", params={"q": "显微镜"})
        self.call("GET /api/v1/instruments", 200, "GET", "/api/v1/instruments",
                  params={"q": "电镜", "page": random.randint(1, 3)})

    def calendar(self):
        day = datetime.now(UTC).date() + timedelta(days=random.randint(0, 20))
        self.call("GET calendar.json", 200, "GET", f"/instruments/{self.instrument}/calendar.json",
                  params={"start": f"{day}T00:00:00", "end": f"{day + timedelta(days=7)}T00:00:00"})

    def book(self, start: datetime, instrument: int):
        return self.call("POST /api/v1/bookings", 201, "POST", "/api/v1/bookings", json={
            "instrument_id": instrument, "purpose": "soak", "start": start.isoformat(),
            "end": (start + timedelta(minutes=30)).isoformat()})

    def book_and_cancel(self):
        self.far += timedelta(minutes=30)
        created = self.book(self.far, self.instrument)
        if created is not None:
            self.call("POST cancel", 200, "POST", f"/api/v1/bookings/{created.json()['id']}/cancel",
                      json={"reason": "soak"})

    def use_and_pay(self):
        if time.monotonic() < self.next_use:
            return self.browse()
        self.next_use = time.monotonic() + USE_EVERY
        self.uses += 1
        now = datetime.now(UTC)
        start = now.replace(second=0, microsecond=0) + timedelta(minutes=30 - now.minute % 30)
        created = self.book(start, self.instruments[self.uses % USE_INSTRUMENTS])
        if created is None:
            return
        booking = created.json()["id"]
        if self.call("POST check-in", 201, "POST", f"/api/v1/bookings/{booking}/check-in") is None:
            return
        if self.call("POST check-out", 200, "POST", f"/api/v1/bookings/{booking}/check-out") is None:
            return
        listed = self.call("GET /api/v1/invoices", 200, "GET", "/api/v1/invoices",
                           params={"per_page": 1})
        if listed is None or not listed.json()["items"]:
            self.errors.append(("invoice", "no invoice after check-out"))
            return
        invoice = listed.json()["items"][0]
        self.events += 1
        body, headers = signed({
            "id": f"evt_soak_{self.n}_{self.events}_{time.time_ns()}", "object": "event",
            "type": "payment_intent.succeeded", "data": {"object": {
                "id": f"pi_soak_{self.n}_{self.events}_{time.time_ns()}",
                "object": "payment_intent", "amount": invoice["amount_due_fen"],
                "amount_received": invoice["amount_due_fen"], "currency": "cny",
                "metadata": {"invoice_id": str(invoice["id"])}}}})
        paid = self.call("POST stripe webhook", 200, "POST", "/api/v1/stripe/webhook", data=body,
                         headers=headers)
        if paid is not None and paid.json().get("outcome") != "paid":
            self.errors.append(("webhook", paid.text[:200]))

    def run(self, until: float):
        actions = [self.browse] * 3 + [self.calendar] * 3 + [self.book_and_cancel] * 2 + \
            [self.use_and_pay] * 2
        while time.monotonic() < until:
            random.choice(actions)()


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=30)
    args = parser.parse_args()
    people = seed(args.db, args.clients)["people"]
    server = start_server(args.db)
    stats, errors = defaultdict(list), []
    try:
        clients = [Client(person, n, stats, errors) for n, person in enumerate(people)]
        until = time.monotonic() + args.seconds
        threads = [threading.Thread(target=c.run, args=(until,)) for c in clients]
        for thread in threads:
            thread.start()
        time.sleep(min(args.warmup, args.seconds / 2))
        memory_start = worker_rss_kib(server.pid)
        for thread in threads:
            thread.join()
        memory_end = worker_rss_kib(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    total = sum(map(len, stats.values()))
    print(f"soak: {args.seconds} s, {args.clients} clients, {total} requests "
          f"({total / args.seconds:.0f}/s), {len(errors)} errors")
    print(f"{'endpoint':32} {'count':>7} {'p50 ms':>8} {'p99 ms':>8}")
    for name, values in sorted(stats.items()):
        print(f"{name:32} {len(values):7} {p(values, 0.5):8.1f} {p(values, 0.99):8.1f}")
    for pid, start_kib in sorted(memory_start.items()):
        end_kib = memory_end.get(pid)
        growth = f"{(end_kib / start_kib - 1) * 100:+.1f} %" if end_kib else "gone"
        print(f"worker {pid}: RSS {start_kib / 1024:.1f} MiB after warm-up, "
              f"{(end_kib or 0) / 1024:.1f} MiB at the end ({growth})")
    for name, error in errors[:20]:
        print("error:", name, error)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
