"""Instruments with their rate cards, opening hours, exceptions, blackouts and qualifications."""
from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.accounts.models import Organisation, User
from booking.core.clock import now_utc
from booking.core.db import TimestampMixin, UTCDateTime
from booking.core.names import in_language
from booking.extensions import db
from booking.instruments.rules import CUSTOMER_CLASSES, STATUSES


def can_view_instrument(instrument, user) -> bool:
    """The one rule of who sees an instrument (page, calendar, booking form, API): listed
    ones anybody; the others the confirmed members and the managers of its organisation and
    bureau staff (anyone may sign up as a member of any institution: until its lab confirms
    them, they see what the public sees). `instrument` is the model or anything with
    is_listed and organisation_id."""
    if instrument.is_listed:
        return True
    return user is not None and user.is_authenticated and (
        (user.organisation_id == instrument.organisation_id and user.membership_confirmed) or
        user.is_bureau or
        user.can_manage_organisation(instrument.organisation_id))


class Instrument(TimestampMixin, db.Model):
    __tablename__ = "instruments"
    __table_args__ = (
        CheckConstraint(f"status IN {STATUSES!r}", name="status"),
        CheckConstraint("original_value_fen >= 0", name="original_value"),
        CheckConstraint("slot_minutes > 0 AND min_minutes > 0 AND max_minutes >= min_minutes",
                        name="lengths"),
        CheckConstraint("lead_minutes >= 0 AND max_days_ahead > 0", name="horizon"),
        CheckConstraint("no_show_fraction BETWEEN 0 AND 1 AND late_cancel_fraction BETWEEN 0 AND 1",
                        name="fractions"),
        CheckConstraint("allows_self_operated OR allows_staff_operated", name="service_mode"),
        Index("uq_instruments_organisation_asset", "organisation_id", "asset_number",
              unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    lab: Mapped[str] = mapped_column(String(200), default="")
    lab_en: Mapped[str] = mapped_column(String(200), default="", server_default="")
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    model: Mapped[str] = mapped_column(String(120), default="")
    manufacturer: Mapped[str] = mapped_column(String(120), default="")
    category: Mapped[str] = mapped_column(String(32), index=True)
    original_value_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    purchase_date: Mapped[date | None] = mapped_column(Date)
    # 资产编号 in the owner's asset register: a spreadsheet re-import updates by it
    asset_number: Mapped[str | None] = mapped_column(String(64))
    # Code in the national large-instrument classification (booking/instruments/classification)
    national_class: Mapped[str | None] = mapped_column(String(8), index=True)
    location: Mapped[str] = mapped_column(String(200), default="")
    location_en: Mapped[str] = mapped_column(String(200), default="", server_default="")
    contact_name: Mapped[str] = mapped_column(String(100), default="")
    contact_phone: Mapped[str] = mapped_column(String(32), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="", server_default="")
    capabilities: Mapped[str] = mapped_column(Text, default="")  # typical tests, one per line
    capabilities_en: Mapped[str] = mapped_column(Text, default="", server_default="")
    allows_self_operated: Mapped[bool] = mapped_column(Boolean, default=True)
    allows_staff_operated: Mapped[bool] = mapped_column(Boolean, default=True)  # 送样
    photo_path: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    info_updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    # Bumped by the database on every change the calendar shows (migration 0009); never set
    # here. booking.bookings.calendar_cache keeps rendered calendars while it stands still.
    calendar_version: Mapped[int] = mapped_column(BigInteger, server_default="0")

    # Booking rules
    slot_minutes: Mapped[int] = mapped_column(default=30)
    min_minutes: Mapped[int] = mapped_column(default=30)
    max_minutes: Mapped[int] = mapped_column(default=480)
    lead_minutes: Mapped[int] = mapped_column(default=60)
    max_days_ahead: Mapped[int] = mapped_column(default=60)
    cancel_deadline_hours: Mapped[int] = mapped_column(default=24)
    requires_approval: Mapped[bool] = mapped_column(Boolean, default=True)
    approval_timeout_hours: Mapped[int] = mapped_column(default=48)
    check_in_early_minutes: Mapped[int] = mapped_column(default=15, server_default="15")
    no_show_fraction: Mapped[Decimal] = mapped_column(Numeric(4, 3), default=Decimal("0.5"))
    late_cancel_fraction: Mapped[Decimal] = mapped_column(Numeric(4, 3), default=Decimal("0.5"))
    requires_qualification: Mapped[bool] = mapped_column(Boolean, default=False)
    qualification_lapse_days: Mapped[int | None]  # qualification lapses after N days unused
    per_sample_fee_fen: Mapped[int] = mapped_column(BigInteger, default=0)  # staff-operated

    organisation: Mapped[Organisation] = relationship()
    rates: Mapped[list["Rate"]] = relationship(back_populates="instrument",
                                               cascade="all, delete-orphan",
                                               order_by="Rate.valid_from")
    opening_hours: Mapped[list["OpeningHours"]] = relationship(
        cascade="all, delete-orphan", order_by="(OpeningHours.weekday, OpeningHours.opens)")
    exceptions: Mapped[list["OpeningException"]] = relationship(
        cascade="all, delete-orphan", order_by="OpeningException.day")
    blackouts: Mapped[list["Blackout"]] = relationship(
        cascade="all, delete-orphan", order_by="Blackout.start_at")

    @property
    def is_large(self) -> bool:
        from booking.instruments.rules import LARGE_INSTRUMENT_MIN_FEN

        return self.original_value_fen >= LARGE_INSTRUMENT_MIN_FEN

    @property
    def is_listed(self) -> bool:
        """In the public directory."""
        return self.is_public and self.status != "retired"

    def can_view(self, user) -> bool:
        return can_view_instrument(self, user)

    def can_edit(self, user: User) -> bool:
        return user.is_authenticated and user.can_manage_organisation(self.organisation_id)

    @staticmethod
    def can_oversee_directory(user: User) -> bool:
        """The whole directory's export and its data-quality report: bureau staff."""
        return user.is_authenticated and user.is_bureau

    @property
    def rates_by_class(self) -> list["Rate"]:
        """The rate card as the policy orders it: internal, academic, enterprise; each class
        by the day its rates start."""
        return sorted(self.rates, key=lambda r: (CUSTOMER_CLASSES.index(r.customer_class),
                                                 r.valid_from))

    def display_name(self, locale: str = "zh_CN") -> str:
        return in_language(self.name_zh, self.name_en, locale)

    def display_lab(self, locale: str = "zh_CN") -> str:
        return self._in(locale, self.lab, self.lab_en)

    def display_location(self, locale: str = "zh_CN") -> str:
        return self._in(locale, self.location, self.location_en)

    def display_description(self, locale: str = "zh_CN") -> str:
        return self._in(locale, self.description, self.description_en)

    def display_capabilities(self, locale: str = "zh_CN") -> list[str]:
        text = self._in(locale, self.capabilities, self.capabilities_en)
        return [line.strip() for line in text.splitlines() if line.strip()]

    @staticmethod
    def _in(locale: str, chinese: str, english: str) -> str:
        """A text in the reader's language, else in the other (either may be all there is)."""
        first, second = (english, chinese) if locale == "en" else (chinese, english)
        return first or second

    def display_details(self, locale: str = "zh_CN") -> str:
        """What tells it from same-named instruments of its owner: the model (unless the name
        gives it), the laboratory and the room."""
        model = self.model if self.model not in self.display_name(locale) else ""
        return " · ".join(part for part in (model, self.display_lab(locale),
                                            self.display_location(locale))
                          if part)

    def __repr__(self):
        return f"<Instrument {self.id} {self.name_zh}>"


class Rate(TimestampMixin, db.Model):
    """An hourly rate for one customer class, valid from a moment until the next one starts.
    A new rate never rewrites past prices: add a row with a later valid_from."""

    __tablename__ = "rates"
    __table_args__ = (
        UniqueConstraint("instrument_id", "customer_class", "valid_from",
                         name="uq_rates_instrument_class_from"),
        CheckConstraint(f"customer_class IN {CUSTOMER_CLASSES!r}", name="customer_class"),
        CheckConstraint("hourly_fen >= 0 AND setup_fee_fen >= 0", name="amounts"),
        CheckConstraint("rounding_minutes > 0 AND minimum_minutes >= 0", name="minutes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instruments.id", ondelete="CASCADE"),
                                               index=True)
    customer_class: Mapped[str] = mapped_column(String(16))
    hourly_fen: Mapped[int] = mapped_column(BigInteger)
    rounding_minutes: Mapped[int] = mapped_column(default=15)
    minimum_minutes: Mapped[int] = mapped_column(default=30)
    setup_fee_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)

    instrument: Mapped[Instrument] = relationship(back_populates="rates")


class OpeningHours(db.Model):
    """A weekly opening interval in the instrument's local time (weekday 0 = Monday)."""

    __tablename__ = "opening_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint("opens < closes", name="order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instruments.id", ondelete="CASCADE"),
                                               index=True)
    weekday: Mapped[int]
    opens: Mapped[time] = mapped_column(Time)
    closes: Mapped[time] = mapped_column(Time)


class OpeningException(db.Model):
    """A local date whose opening differs from the week: closed (holiday) when opens is null,
    else open only between opens and closes."""

    __tablename__ = "opening_exceptions"
    __table_args__ = (
        UniqueConstraint("instrument_id", "day", name="uq_opening_exceptions_instrument_day"),
        CheckConstraint("(opens IS NULL AND closes IS NULL) OR opens < closes", name="order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instruments.id", ondelete="CASCADE"),
                                               index=True)
    day: Mapped[date] = mapped_column(Date)
    opens: Mapped[time | None] = mapped_column(Time)
    closes: Mapped[time | None] = mapped_column(Time)
    reason: Mapped[str] = mapped_column(String(200), default="")


class Blackout(TimestampMixin, db.Model):
    """A period the instrument cannot be used (maintenance, outage), in UTC."""

    __tablename__ = "blackouts"
    __table_args__ = (CheckConstraint("start_at < end_at", name="order"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instruments.id", ondelete="CASCADE"),
                                               index=True)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Qualification(TimestampMixin, db.Model):
    """A user trained for self-operated use of an instrument."""

    __tablename__ = "qualifications"
    __table_args__ = (UniqueConstraint("user_id", "instrument_id",
                                       name="uq_qualifications_user_instrument"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instruments.id", ondelete="CASCADE"),
                                               index=True)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    instrument: Mapped[Instrument] = relationship()
