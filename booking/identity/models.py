"""Identity providers (one per organisation) and the external identities linked to users."""
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.accounts.models import Organisation, User
from booking.core.clock import now_utc
from booking.core.db import TimestampMixin, UTCDateTime
from booking.extensions import db
from booking.identity import rules


class IdentityProvider(TimestampMixin, db.Model):
    """How one organisation signs its people in. Secrets are never stored here: `secret_env`
    names the environment variable (or SSO_SECRETS config key) that holds the OIDC client
    secret or the LDAP service account's password."""

    __tablename__ = "identity_providers"
    __table_args__ = (
        CheckConstraint(f"kind IN {rules.KINDS!r}", name="kind"),
        CheckConstraint(f"default_role IN {rules.MAPPED_ROLES!r}", name="default_role"),
        CheckConstraint(f"max_role IN {rules.MAPPED_ROLES!r}", name="max_role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    label: Mapped[str] = mapped_column(String(100), default="")  # e.g. 统一身份认证
    # comma-separated e-mail domains that route straight to this provider
    email_domains: Mapped[str] = mapped_column(String(1000), default="")
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    role_rules: Mapped[list] = mapped_column(JSON, default=list)
    default_role: Mapped[str] = mapped_column(String(16), default="member")
    max_role: Mapped[str] = mapped_column(String(16), default="member")
    secret_env: Mapped[str] = mapped_column(String(100), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)

    organisation: Mapped[Organisation] = relationship()

    @property
    def domains(self) -> list[str]:
        return [d for d in self.email_domains.split(",") if d]

    def setting(self, key: str, default: str = "") -> str:
        value = (self.settings or {}).get(key)
        if value in (None, ""):
            value = rules.DEFAULT_ATTRIBUTES[self.kind].get(key, default)
        return value

    @property
    def role_rule_list(self) -> list[rules.RoleRule]:
        return rules.rules_from_stored(self.role_rules)

    def display_label(self, locale: str = "zh_CN") -> str:
        return self.label or self.organisation.display_name(locale)

    @staticmethod
    def can_manage(user) -> bool:
        """Only platform administrators configure sign-on: a wrong setting could let the
        people of one institution in as another's."""
        return bool(user and user.is_authenticated and user.is_admin)

    def __repr__(self):
        return f"<IdentityProvider {self.id} {self.kind} org={self.organisation_id}>"


class ExternalIdentity(db.Model):
    """A person as one provider knows them (its stable subject: CAS user, OIDC `sub`, LDAP
    entryUUID), linked to one user. Never found by e-mail: an address can be re-issued."""

    __tablename__ = "external_identities"
    __table_args__ = (
        UniqueConstraint("provider_id", "subject", name="uq_external_identities_provider_subject"),
        # a user links one identity per provider, once
        UniqueConstraint("provider_id", "user_id", name="uq_external_identities_provider_user"),
        Index("ix_external_identities_session_ticket", "provider_id", "session_ticket"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("identity_providers.id",
                                                        ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # CAS single logout: the hash of the service ticket of the latest sign-in, and when the
    # provider said the person signed out (sessions begun before then end)
    session_ticket: Mapped[str | None] = mapped_column(String(64))
    signed_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    provider: Mapped[IdentityProvider] = relationship()
    user: Mapped[User] = relationship()
