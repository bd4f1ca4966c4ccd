"""Several sending rounds at once (workers, instances, cron) deliver each message once."""
import threading
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
