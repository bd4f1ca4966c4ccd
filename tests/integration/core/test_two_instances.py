"""Two app instances (gunicorn, production settings, two workers each) on one PostgreSQL and
one Redis, as the README's production layout runs them: sign-in limits are shared, every
e-mail goes out exactly once, and a calendar kept by one instance shows what the other booked.
"""
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from booking import create_app
from booking.core.notifications import OutboxMessage
from booking.extensions import db
from config import TestingConfig
from tests.browser.conftest import _live_database_url
from tests.factories import Factory

ROOT = Path(__file__).resolve().parents[3]
REDIS_URL = "redis://127.0.0.1:6379/13"

pytestmark = [pytest.mark.committing, pytest.mark.postgres_only]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis():
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        if os.environ.get("CI") or os.environ.get("REQUIRE_BROWSER"):
            pytest.fail("Redis is not running on 127.0.0.1:6379 (.ci/run starts it)")
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    return client


class Inbox:
    """A real SMTP server (aiosmtpd) that keeps what it receives."""

    def __init__(self):
        self.messages, self.lock = [], threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        with self.lock:
            self.messages.append(envelope.content)
        return "250 OK"


def _wait_until(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _up(url: str) -> bool:
    try:
        return requests.get(url + "/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture(scope="module")
def cluster(database_url, tmp_path_factory):
    if not database_url.startswith("postgresql"):
        pytest.skip("several instances share a PostgreSQL database")
    _redis().flushdb()
    url = _live_database_url(database_url, tmp_path_factory, "instances")

    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = url

    app = create_app(Config)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        make = Factory()
        instrument = make.instrument(hours="always", lead_minutes=0, requires_approval=False)
        users = [make.user() for _ in range(2)]
        from booking.accounts.services import create_api_token

        tokens = [create_api_token(user, "instances")[1] for user in users]
        db.session.commit()
        seeded = {"instrument_id": instrument.id, "tokens": tokens,
                  "emails": [u.email for u in users]}

    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    env = {**os.environ, "APP_CONFIG": "production", "SECRET_KEY": "instances-test-secret",
           "DATABASE_URL": url, "RATELIMIT_STORAGE_URI": REDIS_URL,
           "LOGIN_RATE_LIMIT": "6 per minute", "MAIL_SERVER": "127.0.0.1",
           "MAIL_PORT": str(smtp.port), "PUBLIC_BASE_URL": "http://127.0.0.1",
           "PASSWORD_HASH_METHOD": "scrypt:1024:8:1"}
    env.pop("TEST_DATABASE_URL", None)
    bases, processes = [], []
    for _ in range(2):
        port = _free_port()
        processes.append(subprocess.Popen(  # noqa: S603 - fixed arguments
            [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
             "--access-logfile", "-", "wsgi:app"], cwd=ROOT, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        bases.append(f"http://127.0.0.1:{port}")
    try:
        _wait_until(lambda: all(_up(b) for b in bases), 30, "both instances")
        yield {"bases": bases, "app": app, "inbox": inbox, **seeded}
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)
        smtp.stop()


def test_sign_in_attempts_are_counted_across_instances(cluster):
    email = cluster["emails"][0]
    codes = [requests.post(cluster["bases"][i % 2] + "/api/v1/tokens", timeout=10,
                           json={"email": email, "password": "wrong"}).status_code
             for i in range(10)]
    assert codes == [401] * 6 + [429] * 4  # 6 a minute in all, not 6 per instance or worker


def _book(cluster, base: str, token: str, start: datetime) -> requests.Response:
    return requests.post(base + "/api/v1/bookings", timeout=20, json={
        "instrument_id": cluster["instrument_id"], "purpose": "instances",
        "start": start.isoformat(), "end": (start + timedelta(minutes=30)).isoformat()},
        headers={"Authorization": f"Bearer {token}"})


def test_every_message_goes_out_once_however_many_workers_send(cluster):
    first = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    slots = [first + timedelta(minutes=30 * i) for i in range(24)]
    answers = []

    def book(i):
        answers.append(_book(cluster, cluster["bases"][i % 2], cluster["tokens"][i % 2],
                             slots[i]).status_code)

    threads = [threading.Thread(target=book, args=(i,)) for i in range(len(slots))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert answers.count(201) == len(slots)
    with cluster["app"].app_context():
        def unsent():
            db.session.rollback()  # a fresh snapshot each look
            return db.session.scalar(select(func.count(OutboxMessage.id)).where(
                OutboxMessage.sent_at.is_(None)))

        _wait_until(lambda: unsent() == 0, 30, "the outbox to empty")
        queued = db.session.scalar(select(func.count(OutboxMessage.id)))
    received = cluster["inbox"].messages
    assert len(received) == queued >= len(slots)
    assert len(set(received)) == len(received)


def test_a_kept_calendar_shows_what_the_other_instance_booked(cluster):
    day = (datetime.now(UTC) + timedelta(days=5)).date()
    query = {"start": f"{day}T00:00:00+08:00", "end": f"{day + timedelta(days=1)}T00:00:00+08:00"}
    url = "/instruments/{}/calendar.json".format(cluster["instrument_id"])
    a, b = cluster["bases"]

    def busy():
        # both workers of instance A answer (and keep) the calendar
        return [len(requests.get(a + url, params=query, timeout=10).json()["busy"])
                for _ in range(4)]

    before = busy()
    start = datetime.fromisoformat(f"{day}T10:00:00+08:00")
    assert _book(cluster, b, cluster["tokens"][1], start).status_code == 201
    assert busy() == [n + 1 for n in before]
