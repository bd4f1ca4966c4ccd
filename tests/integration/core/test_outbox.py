"""The outbox is sent after commit: inline outside requests, on a worker thread in requests."""
import threading

from sqlalchemy import select

from booking.core import notifications
from booking.core.notifications import OutboxMessage, commit, queue_message
from booking.extensions import db


def _message_to(recipient: str) -> OutboxMessage | None:
    return db.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == recipient))


def test_background_sender_sends_on_its_own_thread(app, monkeypatch):
    calls = []
    monkeypatch.setattr(notifications, "send_pending",
                        lambda: calls.append(threading.current_thread().name))
    sender = notifications.BackgroundSender(app)
    sender.wake()
    assert sender.idle.wait(timeout=10)
    assert calls == ["outbox-sender"]


def test_request_commit_wakes_the_sender_instead_of_sending(app, monkeypatch):
    woken = []

    class FakeSender:
        def wake(self):
            woken.append(True)

    monkeypatch.setitem(app.config, "OUTBOX_SEND", "background")
    monkeypatch.setattr(notifications, "background_sender", lambda _app: FakeSender())
    with app.test_request_context("/", method="POST"):
        queue_message("a@example.cn", "Hello", "Body", kind="test")
        commit()
    assert woken == [True] and _message_to("a@example.cn").sent_at is None


def test_commit_outside_a_request_sends_inline(app):
    queue_message("b@example.cn", "Hello", "Body", kind="test")
    commit()
    assert _message_to("b@example.cn").transport == "log"


def test_notify_send_command_retries_what_is_pending(app):
    queue_message("c@example.cn", "Hello", "Body", kind="test")
    result = app.test_cli_runner().invoke(args=["notify", "send"])
    assert result.exit_code == 0 and "sent 1 message(s)" in result.output, result.output
    message = _message_to("c@example.cn")
    assert message.sent_at is not None and message.attempts == 1


def test_a_rolled_back_transaction_queues_nothing(app):
    queue_message("d@example.cn", "Hello", "Body", kind="test")
    db.session.rollback()
    assert _message_to("d@example.cn") is None


def test_a_round_records_what_went_out_and_what_failed(app, monkeypatch):
    def deliver(message):
        if message.recipient == "down@example.cn":
            raise OSError("connection refused")
        return "smtp"

    monkeypatch.setattr(notifications, "_deliver", deliver)
    for recipient in ("e@example.cn", "down@example.cn", "f@example.cn"):
        queue_message(recipient, "Hello", "Body", kind="test")
    commit()
    sent, failed = _message_to("e@example.cn"), _message_to("down@example.cn")
    assert (sent.transport, sent.attempts, sent.last_error) == ("smtp", 1, None)
    assert _message_to("f@example.cn").sent_at == sent.sent_at is not None
    assert (failed.sent_at, failed.attempts, failed.last_error) == (None, 1, "connection refused")
    assert notifications.send_pending() == 0  # the failed one is retried, and fails again
    db.session.expire_all()
    assert _message_to("down@example.cn").attempts == 2
