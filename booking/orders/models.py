"""Sample-submission orders (送样委托单): the order and its samples, every state change it went
through (who, when), the staff-operated bookings it runs on, its files (report, data, sample
photos) and each instrument's order settings."""
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.accounts.models import Organisation, User
from booking.billing.models import Invoice
from booking.bookings.models import Booking
from booking.core.clock import now_utc
from booking.core.db import TimestampMixin, UTCDateTime
from booking.extensions import db
from booking.instruments.models import Instrument
from booking.orders.rules import (
    HAZARDS,
    LEFTOVERS,
    MAX_SAMPLE_COUNT,
    MAX_SURCHARGE_PERCENT,
    MOVES,
    OUTCOMES,
    RELEASES,
    SAMPLE_STATES,
    STATES,
)

FILE_KINDS = ("report", "data", "photo")


def is_lab_staff(user, organisation_id: int) -> bool:
    """Lab managers of the organisation (and admins) run its orders."""
    return bool(user.is_authenticated and (
        user.is_admin or user.has_role("lab_manager", organisation_id)))


class OrderSettings(db.Model):
    """What a lab sets for orders on one instrument (none: no surcharge, report released once
    the invoice is issued)."""

    __tablename__ = "order_settings"
    __table_args__ = (
        CheckConstraint(f"urgent_surcharge_percent >= 0 AND urgent_surcharge_percent <= "
                        f"{MAX_SURCHARGE_PERCENT}", name="surcharge"),
        CheckConstraint(f"release_on IN {RELEASES!r}", name="release_on"),
    )

    instrument_id: Mapped[int] = mapped_column(
        ForeignKey("instruments.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    urgent_surcharge_percent: Mapped[int] = mapped_column(default=0)
    release_on: Mapped[str] = mapped_column(String(8), default="issued")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


class Order(TimestampMixin, db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(f"state IN {STATES!r}", name="state"),
        CheckConstraint(f"leftovers IN {LEFTOVERS!r}", name="leftovers"),
        CheckConstraint(f"outcome IS NULL OR outcome IN {OUTCOMES!r}", name="outcome"),
        CheckConstraint(f"release_on IN {RELEASES!r}", name="release_on"),
        CheckConstraint("per_sample_fen >= 0 AND setup_fee_fen >= 0 AND surcharge_fen >= 0 "
                        "AND fee_fen >= 0 AND voucher_fen >= 0 AND voucher_fen <= fee_fen",
                        name="amounts"),
        Index("ix_orders_provider_state", "provider_id", "state"),
        Index("uq_orders_number", "number", unique=True),
        Index("uq_orders_report_number", "report_number", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(32))
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instruments.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    customer_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    customer_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="submitted")
    tests: Mapped[list] = mapped_column(JSON, default=list)
    leftovers: Mapped[str] = mapped_column(String(8))
    desired_date: Mapped[date | None] = mapped_column(Date)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str] = mapped_column(Text, default="")
    hazards_acknowledged: Mapped[bool] = mapped_column(Boolean, default=False)
    terms_signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # the quote the customer signed (the invoice prices the same way when the report is ready)
    customer_class: Mapped[str] = mapped_column(String(16))
    per_sample_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    setup_fee_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    surcharge_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    fee_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    voucher_fen: Mapped[int] = mapped_column(BigInteger, default=0)  # forecast at submission
    # when the customer gets the report (the lab's rule when they signed, as the surcharge)
    release_on: Mapped[str] = mapped_column(String(8), default="issued", server_default="issued")
    decline_reason: Mapped[str] = mapped_column(String(500), default="")
    received_condition: Mapped[str] = mapped_column(String(500), default="")
    outcome: Mapped[str | None] = mapped_column(String(8))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"))
    report_number: Mapped[str | None] = mapped_column(String(40))
    report_issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    instrument: Mapped[Instrument] = relationship()
    provider: Mapped[Organisation] = relationship(foreign_keys=[provider_id])
    customer_user: Mapped[User] = relationship(foreign_keys=[customer_user_id])
    customer_org: Mapped[Organisation] = relationship(foreign_keys=[customer_org_id])
    invoice: Mapped[Invoice | None] = relationship()
    samples: Mapped[list["Sample"]] = relationship(back_populates="order",
                                                   order_by="Sample.position",
                                                   cascade="all, delete-orphan")
    events: Mapped[list["OrderEvent"]] = relationship(back_populates="order",
                                                      order_by="OrderEvent.id",
                                                      cascade="all, delete-orphan")
    files: Mapped[list["OrderFile"]] = relationship(back_populates="order",
                                                    order_by="OrderFile.id",
                                                    cascade="all, delete-orphan")
    booking_links: Mapped[list["OrderBooking"]] = relationship(
        back_populates="order", order_by="OrderBooking.id", cascade="all, delete-orphan")

    @property
    def sample_total(self) -> int:
        return sum(sample.count for sample in self.samples)

    @property
    def bookings(self) -> list[Booking]:
        return [link.booking for link in self.booking_links]

    @property
    def payable_fen(self) -> int:
        return self.fee_fen - self.voucher_fen

    @property
    def has_hazards(self) -> bool:
        return any(sample.hazards for sample in self.samples)

    def can_view(self, user) -> bool:
        return bool(user.is_authenticated and (
            user.id == self.customer_user_id or self.can_manage(user)))

    def can_manage(self, user) -> bool:
        """Lab staff of the instrument's organisation: accept, receive, schedule, report."""
        return is_lab_staff(user, self.provider_id)

    def can_cancel(self, user) -> bool:
        return bool(user.is_authenticated and user.id == self.customer_user_id
                    and MOVES.allows(self.state, "cancelled"))

    def can_move(self, target: str) -> bool:
        return MOVES.allows(self.state, target)

    def __repr__(self):
        return f"<Order {self.id} {self.number} {self.state}>"


class Sample(db.Model):
    __tablename__ = "order_samples"
    __table_args__ = (
        CheckConstraint(f"state IN {SAMPLE_STATES!r}", name="state"),
        CheckConstraint(f"count >= 1 AND count <= {MAX_SAMPLE_COUNT}", name="count"),
        Index("uq_order_samples_code", "code", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"),
                                          index=True)
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    count: Mapped[int] = mapped_column(default=1)
    state: Mapped[str] = mapped_column(String(8))
    composition: Mapped[str] = mapped_column(String(500), default="")
    hazards: Mapped[list] = mapped_column(JSON, default=list)
    code: Mapped[str | None] = mapped_column(String(40))  # given at receipt
    condition: Mapped[str] = mapped_column(String(500), default="")  # as received

    order: Mapped[Order] = relationship(back_populates="samples")

    @property
    def hazard_list(self) -> list[str]:
        return [h for h in HAZARDS if h in (self.hazards or [])]


class OrderEvent(db.Model):
    """One state change: to which state, when, by whom, with a note (a reason, an outcome)."""

    __tablename__ = "order_events"
    __table_args__ = (CheckConstraint(f"state IN {STATES!r}", name="state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"),
                                          index=True)
    state: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    note: Mapped[str] = mapped_column(String(500), default="")

    order: Mapped[Order] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class OrderBooking(db.Model):
    """A staff-operated booking scheduled to run the order's tests."""

    __tablename__ = "order_bookings"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"),
                                          index=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), unique=True)

    order: Mapped[Order] = relationship(back_populates="booking_links")
    booking: Mapped[Booking] = relationship()


class OrderFile(db.Model):
    """An uploaded file kept under the instance's upload folder (`stored_name`), served only
    to who may see it."""

    __tablename__ = "order_files"
    __table_args__ = (
        CheckConstraint(f"kind IN {FILE_KINDS!r}", name="kind"),
        CheckConstraint("size_bytes > 0", name="size"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"),
                                          index=True)
    sample_id: Mapped[int | None] = mapped_column(ForeignKey("order_samples.id",
                                                             ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))
    filename: Mapped[str] = mapped_column(String(200))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    order: Mapped[Order] = relationship(back_populates="files")
