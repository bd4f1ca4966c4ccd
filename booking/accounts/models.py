"""Organisations, users, their roles per organisation, and API tokens."""
import hashlib
import secrets
from datetime import date, datetime

from flask import current_app, has_app_context
from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    String,
    UniqueConstraint,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates
from werkzeug.security import check_password_hash, generate_password_hash

from booking.accounts.rules import ORG_KINDS, PROVIDER_KINDS, ROLES, city_key, city_name
from booking.core.clock import now_utc
from booking.core.db import TimestampMixin, UTCDateTime
from booking.core.names import in_language
from booking.extensions import db


class Organisation(TimestampMixin, db.Model):
    __tablename__ = "organisations"
    __table_args__ = (
        CheckConstraint(f"kind IN {ORG_KINDS!r}", name="kind"),
        CheckConstraint("staff_count IS NULL OR staff_count >= 0", name="staff_count"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    short_code: Mapped[str | None] = mapped_column(String(16), unique=True)  # invoice prefix
    city: Mapped[str] = mapped_column(String(64), default="")
    region_code: Mapped[str] = mapped_column(String(12), default="", index=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Deactivated by an admin (booking.admin): kept for history, hidden from choices
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Enterprise profile (used by voucher eligibility)
    sme_certified: Mapped[bool] = mapped_column(Boolean, default=False)
    # False for a start-up team (创业团队) that is not incorporated yet
    legal_person: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    high_tech: Mapped[bool] = mapped_column(Boolean, default=False)
    founded_on: Mapped[date | None] = mapped_column(Date)
    staff_count: Mapped[int | None]
    annual_revenue_fen: Mapped[int | None] = mapped_column(BigInteger)
    total_assets_fen: Mapped[int | None] = mapped_column(BigInteger)
    registered_capital_fen: Mapped[int | None] = mapped_column(BigInteger)
    bad_credit: Mapped[bool] = mapped_column(Boolean, default=False)
    actual_controller: Mapped[str | None] = mapped_column(String(200))

    members: Mapped[list["User"]] = relationship(back_populates="organisation")

    @validates("city")
    def _one_spelling(self, _key, city: str | None) -> str:
        """大连市 and Dalian are stored as 大连, however the organisation was made or edited."""
        return city_key(city)

    @property
    def is_provider(self) -> bool:
        return self.kind in PROVIDER_KINDS

    @property
    def is_enterprise(self) -> bool:
        return self.kind == "enterprise"

    def display_name(self, locale: str = "zh_CN") -> str:
        return in_language(self.name_zh, self.name_en, locale)

    def display_city(self, locale: str = "zh_CN") -> str:
        return city_name(self.city, locale)

    def __repr__(self):
        return f"<Organisation {self.id} {self.name_zh}>"


class Role(db.Model):
    """A role a user holds in one organisation."""

    __tablename__ = "roles"
    __table_args__ = (
        UniqueConstraint("user_id", "organisation_id", "name", name="uq_roles_user_org_name"),
        CheckConstraint(f"name IN {ROLES!r}", name="name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(16))

    organisation: Mapped[Organisation] = relationship()


class User(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(32), default="")
    locale: Mapped[str] = mapped_column(String(8), default="zh_CN")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    # Joining an existing organisation needs its manager's confirmation before booking.
    membership_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    invited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # made for them by others
    # when its owner followed the link sent to the address (None: registered, not yet)
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Logging out raises it: every session signed with the previous value ends (the session
    # is a signed cookie, so a copy kept after logging out would otherwise still work).
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    # Which notices also come by e-mail, which reminders: read by booking.inbox (rules.
    # Preferences); NULL until first saved (the defaults). Loaded with the user, so deciding
    # whether a notice is e-mailed costs no query.
    # JSONB on PostgreSQL: plain json has no equality, which DISTINCT over users needs
    notice_preferences: Mapped[dict | None] = mapped_column(
        JSON().with_variant(JSONB(), "postgresql"))

    organisation: Mapped[Organisation] = relationship(back_populates="members")
    roles: Mapped[list[Role]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    # --- passwords -------------------------------------------------------------------------
    def set_password(self, password: str) -> None:
        method = current_app.config["PASSWORD_HASH_METHOD"] if has_app_context() else "scrypt"
        self.password_hash = generate_password_hash(password, method=method)
        self.password_changed_at = now_utc()

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    # --- Flask-Login -----------------------------------------------------------------------
    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        # Changing the password, or logging out, ends remember-me cookies and sessions.
        return f"{self.id}:{self.password_hash[-12:]}:{self.session_epoch}"

    # --- roles and permissions -------------------------------------------------------------
    def has_role(self, name: str, organisation_id: int | None = None) -> bool:
        return any(r.name == name and (organisation_id is None or r.organisation_id ==
                                       organisation_id) for r in self.roles)

    def has_any_role(self, *names: str) -> bool:
        return self.is_admin or any(r.name in names for r in self.roles)

    @property
    def is_admin(self) -> bool:
        return any(r.name == "admin" for r in self.roles)

    @property
    def is_bureau(self) -> bool:
        return self.is_admin or self.has_role("bureau_staff")

    def role_names(self) -> list[str]:
        return sorted({r.name for r in self.roles})

    def managed_organisation_ids(self) -> set[int]:
        return {r.organisation_id for r in self.roles if r.name == "lab_manager"}

    def can_manage_organisation(self, organisation_id: int) -> bool:
        return self.is_admin or organisation_id in self.managed_organisation_ids()

    def can_view_members(self, organisation: Organisation) -> bool:
        return self.is_admin or self.can_manage_organisation(organisation.id)

    def can_verify_organisations(self) -> bool:
        return self.is_bureau

    @property
    def email_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    @property
    def can_book(self) -> bool:
        """Booking needs an active account, a confirmed e-mail address and membership, and a
        verified organisation."""
        return self.active and self.email_confirmed and self.membership_confirmed and \
            self.organisation.verified

    def booking_blockers(self) -> list[str]:
        problems = [] if self.email_confirmed else ["email_unconfirmed"]
        if not self.organisation.verified:
            problems.append("organisation_unverified")
        if not self.membership_confirmed:
            problems.append("membership_unconfirmed")
        return problems

    def __repr__(self):
        return f"<User {self.id} {self.email}>"


TOKEN_PREFIX = "ipt_"  # noqa: S105 - a prefix, not a secret


def hash_token(raw: str) -> str:
    # Tokens carry 256 bits of randomness, so a fast hash is enough (no dictionary to attack).
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(TimestampMixin, db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(12))  # first characters, to recognise it in a list
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    @staticmethod
    def generate() -> str:
        return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_usable(revoked_at: datetime | None, expires_at: datetime | None, at: datetime
                 ) -> bool:
    return revoked_at is None and (expires_at is None or expires_at > at)
