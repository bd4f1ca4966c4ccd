"""Usage sessions (facts, corrected by appending) and instrument-scoped kiosk/API tokens."""
import secrets
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, exists, select
from sqlalchemy.orm import Mapped, aliased, mapped_column, relationship

from booking.accounts.models import User, hash_token
from booking.bookings.models import Booking
from booking.core.db import TimestampMixin, UTCDateTime
from booking.extensions import db
from booking.instruments.models import Instrument
from booking.metering.rules import SOURCES, used_minutes


def can_record_usage(user: User, instrument: Instrument) -> bool:
    """Managers of the owning organisation enter and correct sessions."""
    return user.is_authenticated and user.can_manage_organisation(instrument.organisation_id)


def can_check_in(user: User, booking: Booking) -> bool:
    """The booking's user, or the lab's managers, start and end its session."""
    return user.is_authenticated and (user.id == booking.user_id or
                                      can_record_usage(user, booking.instrument))


def customer_of(booking: Booking | None, user: User | None = None) -> int:
    """The organisation a use is for: the booking's paying organisation, else (walk-up) the
    user's at the time of use. Every place that records a use asks here."""
    return booking.organisation_id if booking is not None else user.organisation_id


class Charge(NamedTuple):
    """Where a session is charged: its invoice line's amount, and the invoice (billing's
    object, which the usage page shows with its state and links to), whose state the export
    names (`state_label`, billing's word) and whose void leaves nothing owed (`owed`)."""
    number: str
    amount_fen: int
    invoice: object
    state_label: str
    owed: bool


class UsageSession(TimestampMixin, db.Model):
    """One use of an instrument. Never edited once closed: a manager's correction adds a row
    whose `corrects_id` names the replaced one (`void` when the use did not happen at all).
    Only check-out fills `ended_at` of a running session (ended_at is null while running)."""

    __tablename__ = "usage_sessions"
    __table_args__ = (
        CheckConstraint(f"source IN {SOURCES!r}", name="source"),
        CheckConstraint("ended_at IS NULL OR ended_at > started_at", name="order"),
        Index("ix_usage_sessions_instrument_started", "instrument_id", "started_at"),
        Index("ix_usage_sessions_started", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instruments.id"))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # Whom the use was for (customer_of), fixed when it is recorded: billed to, and counted
    # by the rankings as the client. Kept on the row so that neither joins the bookings.
    customer_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(16))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # A correction points at the row it replaces; each row is corrected at most once.
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("usage_sessions.id"), unique=True)
    void: Mapped[bool] = mapped_column(Boolean, default=False)
    overrun: Mapped[bool] = mapped_column(Boolean, default=False)  # ran into the next booking
    note: Mapped[str] = mapped_column(String(500), default="")

    instrument: Mapped[Instrument] = relationship()
    booking: Mapped[Booking | None] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    corrects: Mapped["UsageSession | None"] = relationship(remote_side=[id])

    @property
    def is_running(self) -> bool:
        return self.ended_at is None

    @property
    def minutes(self) -> int:
        return used_minutes(self.started_at, self.ended_at) if self.ended_at else 0

    @classmethod
    def effective_clause(cls):
        """Where-clause of the sessions no later row corrects, without void ones. (The
        redundant IS NOT NULL lets PostgreSQL read the few corrections off their index instead
        of hashing every session's empty corrects_id: a year's usage at province scale was
        read in 0.6 s that way, 0.35 s this way.)"""
        later = aliased(cls)
        return (~exists().where(later.corrects_id == cls.id, later.corrects_id.is_not(None))
                & cls.void.is_(False))


class InstrumentToken(TimestampMixin, db.Model):
    """A secret that lets one instrument's kiosk page or PC speak for the instrument only."""

    __tablename__ = "instrument_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(
        ForeignKey("instruments.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(12))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    instrument: Mapped[Instrument] = relationship()

    PREFIX = "iit_"

    @classmethod
    def generate(cls) -> str:
        return cls.PREFIX + secrets.token_urlsafe(32)

    @classmethod
    def find(cls, raw: str) -> "InstrumentToken | None":
        if not raw.startswith(cls.PREFIX):
            return None
        token = db.session.scalar(select(cls).where(cls.token_hash == hash_token(raw)))
        return token if token is not None and token.revoked_at is None else None
