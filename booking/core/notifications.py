"""Outbox: services queue messages in the same transaction; they are sent after commit.

An e-mail therefore never announces something that was rolled back. Without MAIL_SERVER the
message is written to the log and marked delivered by "log" (development, tests).

In a web request the sending happens on a background thread of the worker (OUTBOX_SEND =
"background"): the response never waits for an SMTP server, and on SQLite marking messages
sent takes one write transaction per burst instead of a second one per request. CLI commands
and tests send inline. `flask notify send` retries what failed.
"""
import os
import smtplib
import threading
import time
from datetime import datetime
from email.message import EmailMessage

from flask import Flask, current_app, has_request_context
from sqlalchemy import String, Text, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from booking.core.clock import now_utc
from booking.core.db import UTCDateTime, take_write_lock
from booking.extensions import db


class OutboxMessage(db.Model):
    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    recipient: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    transport: Mapped[str | None] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))


_INSERT = insert(OutboxMessage.__table__)


def queue_message(recipient: str, subject: str, body: str, kind: str) -> None:
    """Queue one message in the current transaction: sent after it commits, never if it rolls
    back. A plain INSERT, no ORM object (booking transitions queue one each)."""
    queue_messages([{"recipient": recipient, "subject": subject, "body": body, "kind": kind}])


def queue_messages(messages: list[dict]) -> None:
    """Queue many messages (dicts of recipient, subject, body, kind) with one executemany
    INSERT: for batches such as a month close's invoices."""
    if not messages:
        return
    now = now_utc()
    db.session.connection().execute(_INSERT, [{"created_at": now, "attempts": 0, **message}
                                              for message in messages])
    db.session.info["outbox_queued"] = True


def send_pending(limit: int = 100) -> int:
    """Deliver unsent messages; returns how many went out. Safe to call repeatedly."""
    take_write_lock(db.session)  # after a @reads_first view's commit, lock before reading
    pending = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.sent_at.is_(None), OutboxMessage.attempts < 5)
        .order_by(OutboxMessage.id).limit(limit)
    ).all()
    sent = 0
    for message in pending:
        message.attempts += 1
        try:
            message.transport = _deliver(message)
            message.sent_at = now_utc()
            sent += 1
        except (OSError, smtplib.SMTPException) as exc:
            message.last_error = str(exc)[:500]
            current_app.logger.warning("mail to %s failed: %s", message.recipient, exc)
    db.session.commit()
    return sent


def _deliver(message: OutboxMessage) -> str:
    config = current_app.config
    if not config["MAIL_SERVER"]:
        current_app.logger.info("mail (not sent, no MAIL_SERVER) to %s: %s\n%s",
                                message.recipient, message.subject, message.body)
        return "log"
    email = EmailMessage()
    email["From"] = config["MAIL_DEFAULT_SENDER"]
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email.set_content(message.body)
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=10) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(email)
    return "smtp"


GATHER_SECONDS = 0.2


class BackgroundSender:
    """One daemon thread per worker process that sends the outbox whenever it is woken."""

    def __init__(self, app: Flask):
        self.app = app
        self.wanted = threading.Event()
        self.idle = threading.Event()  # set whenever a round of sending has finished
        self.pid = os.getpid()
        threading.Thread(target=self._run, name="outbox-sender", daemon=True).start()

    def wake(self) -> None:
        self.idle.clear()
        self.wanted.set()

    def _run(self) -> None:
        while True:
            self.wanted.wait()
            # Let a burst of commits gather: one write transaction then sends them all, instead
            # of one per request competing with the requests for SQLite's write lock.
            time.sleep(GATHER_SECONDS)
            self.wanted.clear()
            with self.app.app_context():
                try:
                    send_pending()
                except Exception:  # noqa: BLE001 - keep the thread alive; the next wake retries
                    self.app.logger.exception("sending the outbox failed")
                    db.session.rollback()
                finally:
                    db.session.remove()
            self.idle.set()


def background_sender(app: Flask) -> BackgroundSender:
    sender = app.extensions.get("outbox_sender")
    if sender is None or sender.pid != os.getpid():  # threads do not survive a fork
        sender = app.extensions["outbox_sender"] = BackgroundSender(app)
    return sender


def commit() -> None:
    """Commit the unit of work, then have what it queued sent."""
    queued = db.session.info.pop("outbox_queued", False)
    db.session.commit()
    if not queued:
        return
    if has_request_context() and current_app.config["OUTBOX_SEND"] == "background":
        background_sender(current_app._get_current_object()).wake()
    else:
        send_pending()
