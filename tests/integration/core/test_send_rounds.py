"""Several sending rounds at once (workers, instances, cron) deliver each message once."""
import sqlite3
import threading
import time
from collections import Counter

import pytest
from sqlalchemy import delete, select

from booking.core import notifications
from booking.core.notifications import OutboxMessage, queue_messages, send_pending
from booking.extensions import db

KIND = "test.rounds"
ROUNDS = 4


@pytest.mark.committing
def test_concurrent_rounds_deliver_each_message_once(app, monkeypatch):
    with app.app_context():
        queue_messages([{"recipient": f"r{i}@example.cn", "subject": "s", "body": str(i),
                         "kind": KIND} for i in range(40)])
        db.session.commit()
        postgres = db.engine.dialect.name == "postgresql"
    # On PostgreSQL every round reads its batch before any of them commits: without row claims
    # all four would read the same ten messages. SQLite rounds queue on the write lock.
    everyone_has_read = threading.Barrier(ROUNDS, timeout=20)
    delivered, lock = [], threading.Lock()
    original = notifications.Mailer.deliver

    def deliver(self, message):
        if postgres and not getattr(self, "waited", False):
            self.waited = True
            everyone_has_read.wait()
        with lock:
            delivered.append(message.body)
        return original(self, message)

    monkeypatch.setattr(notifications.Mailer, "deliver", deliver)
    errors = []

    def round_():
        try:
            with app.app_context():
                send_pending(limit=10)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=round_) for _ in range(ROUNDS)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        ours = [body for body in delivered if body.isdigit()]
        assert Counter(ours).most_common(1)[0][1] == 1  # nothing twice
        assert sorted(map(int, ours)) == list(range(40))  # and everything once
        with app.app_context():
            unsent = db.session.scalars(select(OutboxMessage.id).where(
                OutboxMessage.kind == KIND, OutboxMessage.sent_at.is_(None))).all()
            assert unsent == []
    finally:
        with app.app_context():
            db.session.execute(delete(OutboxMessage).where(OutboxMessage.kind == KIND))
            db.session.commit()


@pytest.mark.committing
def test_a_round_delivers_with_no_transaction_open(app, monkeypatch):
    """A slow SMTP server must not hold up bookings: while a round delivers it holds no
    transaction, and on SQLite another writer takes the database's write lock at once."""
    with app.app_context():
        queue_messages([{"recipient": f"slow{i}@example.cn", "subject": "s", "body": "b",
                         "kind": KIND} for i in range(3)])
        db.session.commit()
        database = db.engine.url.database if db.engine.dialect.name == "sqlite" else None
    during, original = [], notifications.Mailer.deliver

    def deliver(self, message):
        other_writer_waited = None
        if database:
            other = sqlite3.connect(database, timeout=0.2, isolation_level=None)
            started = time.monotonic()
            other.execute("BEGIN IMMEDIATE")  # raises "database is locked" after 0.2 s
            other_writer_waited = time.monotonic() - started
            other.execute("ROLLBACK")
            other.close()
        during.append((db.session().in_transaction(), other_writer_waited))
        return original(self, message)

    monkeypatch.setattr(notifications.Mailer, "deliver", deliver)
    try:
        with app.app_context():
            assert send_pending() >= 3
        assert len(during) >= 3 and not any(open_ for open_, _ in during)
        assert all(waited is None or waited < 0.1 for _, waited in during)
    finally:
        with app.app_context():
            db.session.execute(delete(OutboxMessage).where(OutboxMessage.kind == KIND))
            db.session.commit()
