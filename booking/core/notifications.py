"""Notices and the outbox: services queue messages in the same transaction; they are sent
after commit. `notify` tells a user something: the notice is offered to other areas through
the `notices_composed` signal (the inbox keeps a copy, and holds back the e-mails a user
turned off), and the e-mails left are queued here.

An e-mail therefore never announces something that was rolled back. Without MAIL_SERVER the
message is written to the log and marked delivered by "log" (development, tests).

In a web request the sending happens on a background thread of the worker (OUTBOX_SEND =
"background"): the response never waits for an SMTP server, and on SQLite a burst of messages
is claimed and then marked sent in two short write transactions instead of one per request,
with none open while the SMTP server answers. CLI commands and tests send inline. `flask
notify send` retries what failed.
"""
import contextlib
import os
import smtplib
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from functools import lru_cache
from typing import Any

from babel import Locale
from blinker import Namespace
from flask import Flask, current_app, has_request_context
from sqlalchemy import Index, String, Text, bindparam, or_, select, text, update
from sqlalchemy.orm import Mapped, mapped_column

from booking.core.clock import now_utc
from booking.core.db import UTCDateTime, take_write_lock
from booking.core.writes import insert_rows
from booking.extensions import db

SUBJECT_LENGTH = 200  # of a message's subject, here and in the inbox


class OutboxMessage(db.Model):
    __tablename__ = "outbox_messages"
    # what send_pending reads: the few unsent among all ever sent (its only index: a message
    # is written twice, queued and sent, and each index costs a page write each time)
    __table_args__ = (
        Index("ix_outbox_messages_pending", "id", sqlite_where=text("sent_at IS NULL"),
              postgresql_where=text("sent_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(SUBJECT_LENGTH))
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    transport: Mapped[str | None] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # by a sending round


_OUTBOX = OutboxMessage.__table__


def queue_message(recipient: str, subject: str, body: str, kind: str) -> None:
    """Queue one message in the current transaction: sent after it commits, never if it rolls
    back. A plain INSERT, no ORM object (booking transitions queue one each)."""
    queue_messages([{"recipient": recipient, "subject": subject, "body": body, "kind": kind}])


@dataclass
class Notice:
    """One notice to one user, composed in their language. `link`: a path on this site about
    it (or ""). `email`: whether it is e-mailed; a receiver of `notices_composed` may turn it
    off (the inbox does, for the kinds the user does not want by e-mail)."""

    user: Any
    kind: str
    subject: str
    body: str
    link: str = ""
    email: bool = True


#: Sent with each list of composed Notices before their e-mails are queued (sender: the list),
#: so that another area keeps them (the inbox) without this kernel knowing it.
notices_composed = Namespace().signal("notices-composed")


def notify(user, kind: str, compose, link: str = "") -> None:
    """Tell `user`: a message composed by `compose() -> (subject, body)` inside the user's own
    locale (the person told reads their language, not that of whoever acted), kept in their
    inbox and e-mailed unless they turned that kind of notice off. Each area's
    `notifications.py` has one `notify_<event>` function per message built on this."""
    deliver([compose_notice(user, kind, compose, link)])


def compose_notice(user, kind: str, compose, link: str = "") -> Notice:
    """The notice `notify` would send, composed but not yet delivered: a write path composes
    before it takes the database's write lock and delivers after its writes."""
    from flask_babel import force_locale

    with force_locale(_locale(user.locale)):
        subject, body = compose()
    return Notice(user, kind, _fitted(subject), body, link)


def _fitted(subject: str) -> str:
    """A subject cut to its column (a 200-character group name in "Request to join %(group)s"
    was refused by PostgreSQL, and the request with it)."""
    return subject if len(subject) <= SUBJECT_LENGTH else subject[:SUBJECT_LENGTH - 1] + "…"


@lru_cache(maxsize=16)
def _locale(code: str) -> Locale:
    """force_locale parses a code each time, checking the locale's data file on disk."""
    return Locale.parse(code)


def deliver(notices: list[Notice]) -> None:
    """Hand composed notices to the receivers of `notices_composed`, then queue the e-mails
    still wanted with one INSERT (a batch, such as a month close's invoices, in one go)."""
    if not notices:
        return
    notices_composed.send(notices)
    queue_messages([{"recipient": n.user.email, "subject": n.subject, "body": n.body,
                     "kind": n.kind} for n in notices if n.email])


def queue_messages(messages: list[dict]) -> None:
    """Queue many messages (dicts of recipient, subject, body, kind) with one executemany
    INSERT: for batches such as a month close's invoices."""
    if not messages:
        return
    now = now_utc()
    insert_rows(db.session, _OUTBOX, [
        {"created_at": now, "attempts": 0, **message, "subject": _fitted(message["subject"])}
        for message in messages])
    db.session.info["outbox_queued"] = True


# A round claims a batch of the oldest unsent messages in one short write transaction, sends
# them with no transaction open, then marks what went out in another: on SQLite the database's
# write lock, which every booking needs, is never held while an SMTP server answers. Claims
# keep concurrent rounds (workers, instances, cron) apart; on PostgreSQL FOR UPDATE SKIP LOCKED
# keeps two rounds claiming at the same moment apart too. A round that dies before marking
# leaves its claim to lapse: those messages go out again (at least once, never lost).
CLAIM_BATCH = 50
CLAIM_TIME = timedelta(minutes=15)  # far longer than a batch takes, even with SMTP timeouts

_CLAIMABLE = select(_OUTBOX.c.id).where(
    _OUTBOX.c.id > bindparam("after"), _OUTBOX.c.sent_at.is_(None), _OUTBOX.c.attempts < 5,
    or_(_OUTBOX.c.claimed_until.is_(None), _OUTBOX.c.claimed_until < bindparam("now"))
).order_by(_OUTBOX.c.id).with_for_update(skip_locked=True)


SEND_ROUND = 100  # messages a round sends at most


def send_pending(limit: int = SEND_ROUND) -> int:
    """Deliver up to `limit` unsent messages; returns how many went out. Safe to call
    repeatedly and from any number of processes at once. One SMTP connection for the round,
    one UPDATE per transport for a batch that went out (a burst of bookings queues one message
    each)."""
    sent, after = 0, 0
    with Mailer(current_app.config) as mailer:
        while limit > 0:
            batch = _claim(min(limit, CLAIM_BATCH), after)
            if not batch:
                break
            sent += _deliver(mailer, batch)
            limit -= len(batch)
            after = batch[-1].id  # what failed waits for the next round
    return sent


def _claim(count: int, after: int) -> list:
    """Up to `count` of the oldest unsent messages after id `after` that nobody holds, now
    held by this round."""
    take_write_lock(db.session)  # after a @reads_first view's commit, lock before reading
    connection = db.session.connection()
    now = now_utc()
    ids = connection.execute(_CLAIMABLE.limit(count), {"now": now, "after": after}
                             ).scalars().all()
    batch = []
    if ids:
        batch = connection.execute(update(_OUTBOX).where(_OUTBOX.c.id.in_(ids)).values(
            claimed_until=now + CLAIM_TIME).returning(
            _OUTBOX.c.id, _OUTBOX.c.recipient, _OUTBOX.c.subject, _OUTBOX.c.body)).all()
    db.session.commit()
    return sorted(batch, key=lambda message: message.id)  # RETURNING keeps no order


def _deliver(mailer: "Mailer", batch: list) -> int:
    """Send a claimed batch, then record what went out and what failed (to be retried)."""
    delivered: dict[str, list[int]] = {}
    failed = []
    for message in batch:
        try:
            delivered.setdefault(mailer.deliver(message), []).append(message.id)
        except (OSError, smtplib.SMTPException) as exc:
            failed.append({"message_id": message.id, "error": str(exc)[:500]})
            current_app.logger.warning("mail to %s failed: %s", message.recipient, exc)
    take_write_lock(db.session)
    connection = db.session.connection()
    now = now_utc()
    for transport, ids in delivered.items():
        connection.execute(update(_OUTBOX).where(_OUTBOX.c.id.in_(ids)).values(
            attempts=_OUTBOX.c.attempts + 1, sent_at=now, transport=transport,
            claimed_until=None))
    if failed:
        connection.execute(update(_OUTBOX).where(_OUTBOX.c.id == bindparam("message_id")).values(
            attempts=_OUTBOX.c.attempts + 1, last_error=bindparam("error"), claimed_until=None),
            failed)
    db.session.commit()
    return sum(map(len, delivered.values()))


class Mailer:
    """Delivers messages (anything with recipient, subject and body) over one SMTP connection,
    opened for the first and kept for the rest; without MAIL_SERVER they go to the log."""

    def __init__(self, config):
        self.config = config
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> "Mailer":
        return self

    def __exit__(self, *exc_info) -> None:
        self._close()

    def deliver(self, message) -> str:
        """Send one message; returns how it went out ("smtp" or "log")."""
        config = self.config
        if not config["MAIL_SERVER"]:
            current_app.logger.info("mail (not sent, no MAIL_SERVER) to %s: %s\n%s",
                                    message.recipient, message.subject, message.body)
            return "log"
        email = EmailMessage()
        email["From"] = config["MAIL_DEFAULT_SENDER"]
        email["To"] = message.recipient
        email["Subject"] = message.subject
        email.set_content(message.body)
        try:
            self._connection().send_message(email)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException):
            raise  # the server answered and reset: the connection serves the next message
        except (OSError, smtplib.SMTPException):
            self._close()  # the next message starts on a fresh connection
            raise
        return "smtp"

    def _connection(self) -> smtplib.SMTP:
        if self.smtp is None:
            config = self.config
            smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=10)
            try:
                if config["MAIL_USE_TLS"]:
                    smtp.starttls()
                if config["MAIL_USERNAME"]:
                    smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
            except Exception:
                smtp.close()  # kept only once ready to send
                raise
            self.smtp = smtp
        return self.smtp

    def _close(self) -> None:
        smtp, self.smtp = self.smtp, None
        if smtp is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                smtp.quit()


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
                    # round after round until nothing is left: a message queued behind a
                    # backlog (the month close's invoices) goes out now, not after more wakes
                    sent = SEND_ROUND
                    while sent == SEND_ROUND:
                        sent = send_pending()
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
