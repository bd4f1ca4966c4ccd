"""Research groups, their members, project accounts (经费卡) with a ledger, and the PI's
decisions on members' booking requests.

A project's money is a ledger (append-only rows): a `hold` while a booking is open (released
when it ends without a charge, or when its invoice charges it), a `charge` when an invoice is
issued to the project, a `credit` when a credit note gives some back. Bookings and invoices are
referred to by id only: this area never imports the areas that own them.
"""
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
    UniqueConstraint,
    column,
    table,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.accounts.models import Organisation, User
from booking.core.db import TimestampMixin, UTCDateTime
from booking.core.names import in_language
from booking.extensions import db
from booking.groups.rules import (
    APPROVAL_MODES,
    ENTRY_KINDS,
    MEMBER_STATES,
    OVER_BUDGET,
    PI_STATES,
    is_valid_on,
)

# The bookings table read by name: the bookings area asks this one, which never imports it.
BOOKINGS = table("bookings", column("id"), column("state"), column("start_at", UTCDateTime()),
                 column("user_id"))


class ResearchGroup(TimestampMixin, db.Model):
    __tablename__ = "research_groups"
    __table_args__ = (
        CheckConstraint(f"approval_mode IN {APPROVAL_MODES!r}", name="approval_mode"),
        CheckConstraint("approval_threshold_fen >= 0", name="threshold"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    pi_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # When the PI approves members' requests before the lab sees them.
    approval_mode: Mapped[str] = mapped_column(String(16), default="none")
    approval_threshold_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    approval_categories: Mapped[list] = mapped_column(JSON, default=list)

    organisation: Mapped[Organisation] = relationship()
    pi: Mapped[User] = relationship()
    members: Mapped[list["GroupMember"]] = relationship(back_populates="group",
                                                        order_by="GroupMember.id")
    projects: Mapped[list["Project"]] = relationship(back_populates="group",
                                                     order_by="Project.id")

    def member(self, user: User) -> "GroupMember | None":
        return next((m for m in self.members if m.user_id == user.id), None)

    def is_pi(self, user: User) -> bool:
        return user.is_authenticated and user.id == self.pi_id

    def is_member(self, user: User) -> bool:
        found = user.is_authenticated and self.member(user)
        return self.is_pi(user) or bool(found and found.state == "active")

    def can_manage(self, user: User) -> bool:
        """Invite, accept, edit projects and approval settings: the PI (and admins)."""
        return user.is_authenticated and (self.is_pi(user) or user.is_admin)

    def can_view(self, user: User) -> bool:
        """Members, the PI, and the finance staff of the group's organisation."""
        return user.is_authenticated and (self.is_member(user) or user.is_admin or
                                          user.has_role("finance", self.organisation_id))

    def can_request_to_join(self, user: User) -> bool:
        return (user.is_authenticated and user.organisation_id == self.organisation_id
                and not self.is_pi(user) and self.member(user) is None)


class GroupMember(TimestampMixin, db.Model):
    __tablename__ = "group_members"
    __table_args__ = (
        UniqueConstraint("group_id", "user_id"),
        CheckConstraint(f"state IN {MEMBER_STATES!r}", name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("research_groups.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    state: Mapped[str] = mapped_column(String(16))
    # The project this member's bookings are charged to unless they choose another.
    default_project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"))

    group: Mapped[ResearchGroup] = relationship(back_populates="members")
    user: Mapped[User] = relationship()


class Project(TimestampMixin, db.Model):
    """A project account (经费卡): a budget from a funder, valid for a span of days."""

    __tablename__ = "projects"
    __table_args__ = (
        UniqueConstraint("group_id", "number"),
        CheckConstraint(f"over_budget IN {OVER_BUDGET!r}", name="over_budget"),
        CheckConstraint("budget_fen >= 0", name="budget"),
        CheckConstraint("valid_from <= valid_until", name="validity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("research_groups.id"), index=True)
    number: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    funder: Mapped[str] = mapped_column(String(200), default="")
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    budget_fen: Mapped[int] = mapped_column(BigInteger)
    # A booking over the remaining budget: refused, or sent to the PI to decide.
    over_budget: Mapped[str] = mapped_column(String(8), default="refuse")
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    group: Mapped[ResearchGroup] = relationship(back_populates="projects")
    limits: Mapped[list["ProjectLimit"]] = relationship(back_populates="project",
                                                        cascade="all, delete-orphan",
                                                        order_by="ProjectLimit.id")

    @property
    def label(self) -> str:
        return f"{self.number} {self.title}"

    def is_valid_on(self, day: date) -> bool:
        return is_valid_on(self.valid_from, self.valid_until, day)

    def can_charge(self, user: User) -> bool:
        """Book against it: members of its group and the PI."""
        return self.group.is_member(user)

    def can_view(self, user: User) -> bool:
        return self.group.can_view(user)


class ProjectLimit(db.Model):
    """At most `limit_fen` of the project for one instrument or one instrument category."""

    __tablename__ = "project_limits"
    __table_args__ = (
        CheckConstraint("(instrument_id IS NULL) <> (category IS NULL)", name="one_target"),
        CheckConstraint("limit_fen >= 0", name="limit"),
        # one limit per target (a second is a replacement); NULLs are distinct, so each index
        # only holds the rows of its kind
        Index("uq_project_limits_instrument", "project_id", "instrument_id", unique=True),
        Index("uq_project_limits_category", "project_id", "category", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"),
                                            index=True)
    instrument_id: Mapped[int | None] = mapped_column(ForeignKey("instruments.id"))
    category: Mapped[str | None] = mapped_column(String(64))
    limit_fen: Mapped[int] = mapped_column(BigInteger)

    project: Mapped[Project] = relationship(back_populates="limits")


class ProjectEntry(db.Model):
    """One line of a project's ledger (positive amounts; the kind says which way)."""

    __tablename__ = "project_entries"
    __table_args__ = (
        CheckConstraint(f"kind IN {ENTRY_KINDS!r}", name="kind"),
        CheckConstraint("amount_fen >= 0", name="amount"),
        Index("ix_project_entries_project_kind", "project_id", "kind"),
        Index("ix_project_entries_booking", "booking_id"),
        Index("ix_project_entries_invoice", "invoice_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    kind: Mapped[str] = mapped_column(String(8))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    booking_id: Mapped[int | None]
    invoice_id: Mapped[int | None]
    instrument_id: Mapped[int | None]
    category: Mapped[str] = mapped_column(String(64), default="")
    description: Mapped[str] = mapped_column(String(300), default="")
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # holds only
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    project: Mapped[Project] = relationship()


class PiApproval(TimestampMixin, db.Model):
    """The PI's decision on a member's request, before the lab sees it. `summary` keeps what
    the PI reads (instrument, time, fee, who), written by the bookings area when it asks."""

    __tablename__ = "pi_approvals"
    __table_args__ = (CheckConstraint(f"state IN {PI_STATES!r}", name="state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(unique=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("research_groups.id"), index=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"))
    pi_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    fee_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    over_budget: Mapped[bool] = mapped_column(Boolean, default=False)
    summary: Mapped[dict] = mapped_column(JSON, default=dict)
    reason: Mapped[str] = mapped_column(String(500), default="")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    group: Mapped[ResearchGroup] = relationship()
    project: Mapped[Project | None] = relationship()
    pi: Mapped[User] = relationship(foreign_keys=[pi_id])
    requester: Mapped[User] = relationship(foreign_keys=[requester_id])

    def instrument_in(self, locale: str) -> str:
        """The instrument and its institution in the reader's language (requests asked
        before both were kept show the name as it was sent)."""
        summary = self.summary or {}
        if "instrument_zh" not in summary:
            return summary.get("instrument", "")
        return " · ".join(in_language(summary[f"{what}_zh"], summary[f"{what}_en"], locale)
                          for what in ("instrument", "organisation"))

    def can_decide(self, user: User) -> bool:
        return self.state == "pending" and user.is_authenticated and user.id == self.pi_id


class ProjectDigest(db.Model):
    """A PI's monthly digest of their projects' money, once per month (the job may run again)."""

    __tablename__ = "project_digests"
    __table_args__ = (UniqueConstraint("pi_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pi_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    projects: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
