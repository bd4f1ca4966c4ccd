"""Bookings, private calendar-feed tokens and training requests.

The no-overlap invariant of occupying bookings lives in the database (migration 0003: a
PostgreSQL exclusion constraint, SQLite triggers), not in this metadata; so does the longest
booking (migration 0007).
"""
import secrets
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    and_,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.accounts.models import Organisation, User
from booking.bookings.recurrence import FREQUENCIES, MAX_INTERVAL, MAX_OCCURRENCES, Repeat
from booking.bookings.rules import (
    CANCELLABLE_STATES,
    LONGEST_BOOKING,
    MAX_SAMPLES,
    MODES,
    MOVABLE_STATES,
    OCCUPYING_STATES,
    STATES,
)
from booking.core.clock import now_utc
from booking.core.db import TimestampMixin, UTCDateTime
from booking.extensions import db
from booking.instruments.models import Instrument

#: A booking overlapping [start, end) starts after start - MAX_LENGTH: with that lower bound an
#: overlap search reads a short range of ix_bookings_instrument_start, not the whole history.
MAX_LENGTH = LONGEST_BOOKING


class Booking(TimestampMixin, db.Model):
    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint(f"state IN {STATES!r}", name="state"),
        CheckConstraint(f"mode IN {MODES!r}", name="mode"),
        CheckConstraint("start_at < end_at", name="order"),
        CheckConstraint(f"sample_count >= 0 AND sample_count <= {MAX_SAMPLES}",
                        name="sample_count"),
        Index("ix_bookings_instrument_start", "instrument_id", "start_at"),
        Index("ix_bookings_state_created", "state", "created_at"),
        # the reminders job reads the approved bookings starting within a day
        Index("ix_bookings_approved_start", "start_at", sqlite_where=text("state = 'approved'"),
              postgresql_where=text("state = 'approved'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instruments.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    mode: Mapped[str] = mapped_column(String(16), default="self_operated")
    purpose: Mapped[str] = mapped_column(Text, default="")
    # Samples handed in for a staff-operated (送样) booking (charged per sample); 0 otherwise.
    sample_count: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str] = mapped_column(String(500), default="")
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    late_cancel: Mapped[bool] = mapped_column(Boolean, default=False)
    # paid through another document (a test order's invoice): billing's own invoicing skips it
    billed_separately: Mapped[bool] = mapped_column(Boolean, default=False,
                                                    server_default=false())
    sequence: Mapped[int] = mapped_column(default=0)  # iCalendar SEQUENCE, bumped on change
    # The recurring series this booking is an occurrence of (None: a single booking).
    series_id: Mapped[int | None] = mapped_column(ForeignKey("booking_series.id"), index=True)
    # The project account (经费卡, booking.groups) the booking is charged to, if any.
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    instrument: Mapped[Instrument] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    organisation: Mapped[Organisation] = relationship()
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    cancelled_by: Mapped[User | None] = relationship(foreign_keys=[cancelled_by_id])
    series: Mapped["BookingSeries | None"] = relationship(back_populates="bookings")

    @property
    def occupies(self) -> bool:
        return self.state in OCCUPYING_STATES

    @classmethod
    def overlapping(cls, start: datetime, end: datetime):
        """Bookings that overlap [start, end), as an index-range condition."""
        return and_(cls.start_at < end, cls.start_at > start - MAX_LENGTH, cls.end_at > start)

    @property
    def minutes(self) -> int:
        return int((self.end_at - self.start_at).total_seconds() // 60)

    # Who may do what. The "who" predicates answer 404/403; the state-aware ones say whether
    # the action is still open (otherwise the state machine refuses: 409, or a page's notice).
    def is_booked_by(self, user: User) -> bool:
        return user.is_authenticated and user.id == self.user_id

    def can_manage(self, user: User) -> bool:
        """Act for the lab: managers of the instrument's organisation (and admins)."""
        return user.is_authenticated and user.can_manage_organisation(
            self.instrument.organisation_id)

    def can_view(self, user: User) -> bool:
        return self.is_booked_by(user) or self.can_manage(user)

    def can_decide(self, user: User) -> bool:
        """Approve or reject: the lab, while the request is pending."""
        return self.state == "pending" and self.can_manage(user)

    def can_change(self, user: User) -> bool:
        """Move or cancel it: the booker or the lab; time the lab scheduled for a test order
        (billed_separately: the order's invoice pays it) only the lab."""
        return self.can_manage(user) or (self.is_booked_by(user) and not self.billed_separately)

    def can_cancel(self, user: User) -> bool:
        """While the booking is pending or approved (can_change says who)."""
        return self.state in CANCELLABLE_STATES and self.can_change(user)

    def can_move(self, user: User) -> bool:
        return self.state in MOVABLE_STATES and self.can_change(user)

    def can_rate(self, user: User) -> bool:
        """The booker, once the booking is completed."""
        return self.state == "completed" and self.is_booked_by(user)

    def __repr__(self):
        return f"<Booking {self.id} {self.state} {self.start_at:%Y-%m-%d %H:%M}>"


class BookingSeries(TimestampMixin, db.Model):
    """A recurring series (RFC 5545 recurrence, see recurrence.py): the rule its occurrences
    were made by, each of them an ordinary Booking with this series_id (so the database's
    no-overlap guard protects every one). Kept to describe the series and to decide or cancel
    it as one; what each occurrence is (its state, its time) lives on the occurrence."""

    __tablename__ = "booking_series"
    __table_args__ = (
        CheckConstraint(f"freq IN {tuple(FREQUENCIES)!r}", name="freq"),
        CheckConstraint(f"every BETWEEN 1 AND {MAX_INTERVAL}", name="every"),
        CheckConstraint(f"times BETWEEN 1 AND {MAX_OCCURRENCES}", name="times"),
        CheckConstraint("(times IS NULL) <> (until IS NULL)", name="one_end"),
        CheckConstraint("start_at < end_at", name="order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instruments.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    freq: Mapped[str] = mapped_column(String(8))  # daily | weekly | monthly
    every: Mapped[int] = mapped_column(default=1)  # INTERVAL
    byweekday: Mapped[str] = mapped_column(String(20), default="")  # BYDAY, e.g. "TU,TH"
    times: Mapped[int | None]  # COUNT
    until: Mapped[date | None] = mapped_column(Date)  # UNTIL, a local date (inclusive)
    timezone: Mapped[str] = mapped_column(String(64))  # whose wall clock the slot repeats on
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the first slot (DTSTART)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)

    instrument: Mapped[Instrument] = relationship()
    user: Mapped[User] = relationship()
    bookings: Mapped[list[Booking]] = relationship(back_populates="series",
                                                   order_by=Booking.start_at)

    @property
    def repeat(self) -> Repeat:
        return Repeat(self.freq, self.every, tuple(filter(None, self.byweekday.split(","))),
                      self.times, self.until)

    def is_booked_by(self, user: User) -> bool:
        return user.is_authenticated and user.id == self.user_id

    def can_manage(self, user: User) -> bool:
        """Decide it for the lab: managers of the instrument's organisation (and admins)."""
        return user.is_authenticated and user.can_manage_organisation(
            self.instrument.organisation_id)

    def can_view(self, user: User) -> bool:
        return self.is_booked_by(user) or self.can_manage(user)

    def can_cancel(self, user: User) -> bool:
        """Cancel all or the rest of it: the booker (the lab cancels occurrences one by one)."""
        return self.is_booked_by(user)

    def __repr__(self):
        return f"<BookingSeries {self.id} {self.freq} {self.start_at:%Y-%m-%d %H:%M}>"


class FeedToken(TimestampMixin, db.Model):
    """The secret in a user's private calendar-feed URL. Resetting replaces it."""

    __tablename__ = "feed_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         unique=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)

    user: Mapped[User] = relationship()

    @staticmethod
    def generate() -> str:
        return secrets.token_urlsafe(24)


class TrainingRequest(TimestampMixin, db.Model):
    """A user asks to be trained (qualified) for self-operated use of an instrument."""

    __tablename__ = "training_requests"
    __table_args__ = (CheckConstraint("state IN ('open', 'granted', 'declined')", name="state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    instrument_id: Mapped[int] = mapped_column(
        ForeignKey("instruments.id", ondelete="CASCADE"), index=True)
    message: Mapped[str] = mapped_column(String(500), default="")
    state: Mapped[str] = mapped_column(String(16), default="open")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    instrument: Mapped[Instrument] = relationship()

    def can_decide(self, user: User) -> bool:
        """Grant or decline: the instrument's lab, while the request is open."""
        return self.state == "open" and self.instrument.can_edit(user)


class Rating(TimestampMixin, db.Model):
    """1-5 stars and a comment by the booker, once per completed booking."""

    __tablename__ = "ratings"
    __table_args__ = (CheckConstraint("stars BETWEEN 1 AND 5", name="stars"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"),
                                            unique=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instruments.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    stars: Mapped[int]
    comment: Mapped[str] = mapped_column(Text, default="")

    booking: Mapped[Booking] = relationship()
    user: Mapped[User] = relationship()


class BookingReminder(db.Model):
    """A reminder sent to the booker before the booking starts: one per booking, horizon
    ("24h", "1h") and start time, so the job never sends it twice, and a booking moved to
    another time is reminded of again."""

    __tablename__ = "booking_reminders"
    __table_args__ = (UniqueConstraint("booking_id", "horizon", "start_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"))
    horizon: Mapped[str] = mapped_column(String(8))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the start it reminded of
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


WAITLIST_STATES = ("waiting", "offered", "booked", "expired", "left")


class WaitlistEntry(TimestampMixin, db.Model):
    """Someone waiting for a taken time of an instrument, in order of arrival. When the time
    frees, the first in line whose whole time is free gets an offer, held for them until
    offer_expires_at; then the next."""
    __tablename__ = "waitlist_entries"
    __table_args__ = (
        CheckConstraint(f"state IN {WAITLIST_STATES!r}", name="state"),
        CheckConstraint("start_at < end_at", name="order"),
        Index("ix_waitlist_entries_instrument_state_start", "instrument_id", "state",
              "start_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instruments.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    mode: Mapped[str] = mapped_column(String(16))
    sample_count: Mapped[int] = mapped_column(default=0)
    purpose: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default="waiting")
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    offer_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"))

    instrument: Mapped[Instrument] = relationship()
    user: Mapped[User] = relationship()

    @property
    def is_open(self) -> bool:
        return self.state in ("waiting", "offered")
