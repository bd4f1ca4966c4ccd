"""The outbox is sent after commit: inline outside requests, on a worker thread in requests."""
import socket
import threading
from datetime import timedelta
from email import message_from_bytes
from email.policy import default

import pytest
from aiosmtpd.controller import Controller
from freezegun import freeze_time
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


def test_background_sender_goes_on_until_the_outbox_is_empty(app, monkeypatch):
    """Reported: an invitation waited behind hundreds of reminders, one round of 100 per
    later request. A full round means more may wait: the sender goes on."""
    rounds = iter([notifications.SEND_ROUND, notifications.SEND_ROUND, 7, 0])
    calls = []
    monkeypatch.setattr(notifications, "send_pending", lambda: calls.append(1) or next(rounds))
    sender = notifications.BackgroundSender(app)
    sender.wake()
    assert sender.idle.wait(timeout=10)
    assert len(calls) == 3  # the third round was not full: nothing was left


def test_the_demos_past_messages_are_not_sent_as_new(app):
    """The seed's year of reminders and invoices is history: marked sent (not e-mailed), so
    the first message of a session goes out at once."""
    from booking.cli import _settle_seeded_mail

    queue_message("old@example.cn", "催款提醒", "Body", kind="invoice.overdue")
    db.session.commit()
    _settle_seeded_mail()
    message = _message_to("old@example.cn")
    assert message.sent_at is not None and message.transport == "demo"


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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """aiosmtpd handler: keeps what it receives and refuses mail to down@example.cn."""

    def __init__(self):
        self.messages, self.sessions = [], set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == "down@example.cn":
            return "550 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=default))
        self.sessions.add(id(session))
        return "250 OK"


@pytest.fixture
def smtp_server(app, monkeypatch):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", controller.port)
    yield inbox
    controller.stop()


def test_a_round_sends_over_one_smtp_connection_and_records_failures(app, smtp_server):
    for recipient in ("e@example.cn", "down@example.cn", "f@example.cn"):
        queue_message(recipient, "预约已确认", f"Body for {recipient}", kind="test")
    commit()
    received = {m["To"]: m for m in smtp_server.messages}
    assert set(received) == {"e@example.cn", "f@example.cn"}
    assert received["e@example.cn"]["Subject"] == "预约已确认"
    assert received["e@example.cn"]["From"] == app.config["MAIL_DEFAULT_SENDER"]
    assert received["f@example.cn"].get_content().strip() == "Body for f@example.cn"
    assert len(smtp_server.sessions) == 1  # one connection for the round
    sent, failed = _message_to("e@example.cn"), _message_to("down@example.cn")
    assert (sent.transport, sent.attempts, sent.last_error) == ("smtp", 1, None)
    assert _message_to("f@example.cn").sent_at == sent.sent_at is not None
    assert (failed.sent_at, failed.attempts) == (None, 1)
    assert "no such mailbox" in failed.last_error
    assert notifications.send_pending() == 0  # the failed one is retried, and fails again
    db.session.expire_all()
    assert _message_to("down@example.cn").attempts == 2
    assert len(smtp_server.messages) == 2


def test_an_unreachable_smtp_server_leaves_messages_queued(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", _free_port())  # nothing listens there
    queue_message("g@example.cn", "Hello", "Body", kind="test")
    commit()
    message = _message_to("g@example.cn")
    assert (message.sent_at, message.attempts) == (None, 1) and message.last_error


def test_a_failed_login_sends_nothing_and_keeps_the_messages(app, smtp_server, monkeypatch):
    # the test server offers no AUTH: login fails, and nothing may go out unauthenticated
    monkeypatch.setitem(app.config, "MAIL_USERNAME", "outbox")
    monkeypatch.setitem(app.config, "MAIL_PASSWORD", "wrong")
    for recipient in ("h@example.cn", "i@example.cn"):
        queue_message(recipient, "Hello", "Body", kind="test")
    commit()
    assert smtp_server.messages == []
    for recipient in ("h@example.cn", "i@example.cn"):
        message = _message_to(recipient)
        assert (message.sent_at, message.attempts) == (None, 1) and message.last_error


def test_a_message_claimed_by_another_round_waits_until_its_claim_lapses(app):
    """A round that died after claiming (a worker killed mid-send) leaves its claim: the
    message goes out once the claim lapses, not before and not twice meanwhile."""
    queue_message("claimed@example.cn", "Hello", "Body", kind="test")
    db.session.commit()
    message = _message_to("claimed@example.cn")
    with freeze_time(message.created_at) as clock:
        message.claimed_until = message.created_at + notifications.CLAIM_TIME
        db.session.commit()
        assert notifications.send_pending() == 0
        clock.tick(notifications.CLAIM_TIME + timedelta(seconds=1))
        assert notifications.send_pending() == 1
    db.session.expire_all()
    message = _message_to("claimed@example.cn")
    assert message.sent_at is not None and message.claimed_until is None


def test_without_a_mail_server_each_message_is_seen_in_the_log(app, caplog, monkeypatch):
    """Reported: in development the messages were marked sent by "log" but the log line, at
    INFO under a logger left at WARNING, was never written: reset links could not be found."""
    monkeypatch.setattr(app.logger, "disabled", False)  # the test run's in-process migration
    assert not app.config.get("MAIL_SERVER") and app.logger.getEffectiveLevel() <= 20
    queue_message("somebody@example.cn", "Reset your password", "http://x/reset/abc", "t.k")
    db.session.commit()
    assert notifications.send_pending() == 1
    assert "somebody@example.cn" in caplog.text
