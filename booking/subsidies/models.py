"""Voucher policies (versioned), declared links, the yearly budget, vouchers."""
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    and_,
    or_,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.accounts.models import Organisation, User
from booking.core.clock import now_utc, to_local, year_end_utc
from booking.core.db import TimestampMixin, UTCDateTime
from booking.extensions import db
from booking.subsidies.policy import LINK_KINDS
from booking.subsidies.rules import (
    VOUCHER_TRANSITIONS,
    review_due,
    voucher_state_at,
)

VOUCHER_STATES = tuple(VOUCHER_TRANSITIONS)  # applied, issued, exhausted, expired, rejected
BUDGET_STATES = ("issued", "exhausted", "expired")  # states whose face value holds budget


class SubsidyPolicy(TimestampMixin, db.Model):
    """One version of a year's voucher policy. Published versions never change: editing one
    starts the next version as a draft."""

    __tablename__ = "subsidy_policies"
    __table_args__ = (
        UniqueConstraint("year", "version", name="uq_subsidy_policies_year_version"),
        CheckConstraint("budget_fen >= 0", name="budget"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    version: Mapped[int]
    rules: Mapped[dict] = mapped_column(JSON)
    budget_fen: Mapped[int] = mapped_column(BigInteger)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    @staticmethod
    def can_edit(user) -> bool:
        """Drafting and publishing the voucher policy, declaring related-party links."""
        return user.is_authenticated and user.is_bureau

    @property
    def label(self) -> str:
        return f"{self.year} v{self.version}"

    def __repr__(self):
        return f"<SubsidyPolicy {self.label}{'' if self.is_published else ' draft'}>"


class OrganisationLink(TimestampMixin, db.Model):
    """A declared tie between an enterprise and an institution that makes them related parties
    (隶属、共建、产权纽带): vouchers do not pay for services between them."""

    __tablename__ = "organisation_links"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "institution_id", "kind",
                         name="uq_organisation_links_pair_kind"),
        CheckConstraint(f"kind IN {LINK_KINDS!r}", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))


class VoucherBudget(db.Model):
    """The year's budget ledger row. Approvals lock it (SELECT … FOR UPDATE), so the year's
    approvals are serialised and the committed total never passes the allowance."""

    __tablename__ = "voucher_budgets"
    __table_args__ = (CheckConstraint("committed_fen >= 0", name="committed"),)

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    committed_fen: Mapped[int] = mapped_column(BigInteger, default=0)


class Voucher(TimestampMixin, db.Model):
    __tablename__ = "vouchers"
    __table_args__ = (
        CheckConstraint(f"state IN {VOUCHER_STATES!r}", name="state"),
        CheckConstraint("requested_fen > 0", name="requested"),
        CheckConstraint("face_value_fen >= 0", name="face_value"),
        CheckConstraint("used_fen >= 0 AND used_fen <= face_value_fen", name="used"),
        CheckConstraint("rate >= 0 AND rate <= 1", name="rate"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    policy_id: Mapped[int] = mapped_column(ForeignKey("subsidy_policies.id"))
    year: Mapped[int] = mapped_column(index=True)
    state: Mapped[str] = mapped_column(String(16), default="applied", index=True)
    enterprise_class: Mapped[str] = mapped_column(String(32))
    rate: Mapped[Decimal] = mapped_column(Numeric(5, 4))
    project: Mapped[str] = mapped_column(Text, default="")
    declaration: Mapped[dict] = mapped_column(JSON, default=dict)
    requested_fen: Mapped[int] = mapped_column(BigInteger)
    face_value_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    used_fen: Mapped[int] = mapped_column(BigInteger, default=0)  # reserved + redeemed
    quarter: Mapped[int | None]  # the budget batch the approval drew on
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str] = mapped_column(String(500), default="")

    enterprise: Mapped[Organisation] = relationship()
    applicant: Mapped[User] = relationship(foreign_keys=[applicant_id])
    policy: Mapped[SubsidyPolicy] = relationship()
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    @staticmethod
    def can_apply(user) -> bool:
        """A confirmed member of an enterprise: anyone may ask to join one, and its vouchers
        are for the people it has confirmed."""
        return user.is_authenticated and user.organisation.is_enterprise and \
            user.membership_confirmed

    @staticmethod
    def can_oversee(user) -> bool:
        """The review queue, the budget dashboard, sampling, clawbacks and reimbursement."""
        return user.is_authenticated and user.is_bureau

    def can_view(self, user) -> bool:
        return user.is_authenticated and (user.is_bureau or (
            user.organisation_id == self.enterprise_id and user.membership_confirmed))

    def can_decide(self, user) -> bool:
        """Approving or rejecting is for bureau staff; a decided application is refused by
        the workflow (409: someone decided it first), not hidden."""
        return self.can_oversee(user)

    def is_overdue(self, now: datetime) -> bool:
        """Still undecided past the policy's review deadline (review_sla_days)."""
        return self.state == "applied" and now > review_due(self.created_at, self.policy.rules)

    def state_at(self, now: datetime) -> str:
        """What the voucher is as of `now` (the daily `flask vouchers expire` writes expiry;
        reads never do, and show it as soon as it is true)."""
        return voucher_state_at(self.state, self.valid_until, self.year, now)

    @property
    def last_valid_day(self) -> date | None:
        """The last local day it can be used (valid_until is the first instant after it)."""
        return None if self.valid_until is None else \
            to_local(self.valid_until - timedelta(microseconds=1)).date()

    @property
    def remaining_fen(self) -> int:
        return self.face_value_fen - self.used_fen if self.state_at(now_utc()) == "issued" else 0

    def __repr__(self):
        return f"<Voucher {self.id} {self.state} {self.face_value_fen}>"


REDEMPTION_ENTRIES = ("claim", "reversal")
REDEMPTION_STATES = ("reserved", "redeemed", "released")
CHECK_OUTCOMES = ("confirmed", "clawed_back")  # of a redemption drawn for re-checking
STATEMENT_STATES = ("pending", "paid")


class Redemption(TimestampMixin, db.Model):
    """A voucher's share of one invoice. A claim is reserved when the invoice is issued,
    redeemed when the customer pays the remainder, released when the invoice is voided.
    A clawback appends a reversal (negative amount); nothing is ever deleted."""

    __tablename__ = "redemptions"
    __table_args__ = (
        UniqueConstraint("invoice_id", "entry", name="uq_redemptions_invoice_entry"),
        CheckConstraint(f"entry IN {REDEMPTION_ENTRIES!r}", name="entry"),
        CheckConstraint(f"state IN {REDEMPTION_STATES!r}", name="state"),
        CheckConstraint(f"check_outcome IN {CHECK_OUTCOMES!r}", name="check_outcome"),
        CheckConstraint("(entry = 'claim' AND amount_fen > 0 AND reverses_id IS NULL) OR "
                        "(entry = 'reversal' AND amount_fen < 0 AND reverses_id IS NOT NULL)",
                        name="amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    voucher_id: Mapped[int] = mapped_column(ForeignKey("vouchers.id"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("subsidy_policies.id"))
    entry: Mapped[str] = mapped_column(String(8), default="claim")
    state: Mapped[str] = mapped_column(String(8), default="reserved", index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("redemptions.id"))
    reason: Mapped[str] = mapped_column(String(500), default="")
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    flagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # sampled for re-check
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    check_outcome: Mapped[str | None] = mapped_column(String(12))
    reimbursement_id: Mapped[int | None] = mapped_column(ForeignKey("reimbursements.id"),
                                                         index=True)

    voucher: Mapped[Voucher] = relationship()
    provider: Mapped[Organisation] = relationship()
    policy: Mapped[SubsidyPolicy] = relationship()

    def __repr__(self):
        return f"<Redemption {self.id} {self.entry} {self.state} {self.amount_fen}>"


class Reimbursement(TimestampMixin, db.Model):
    """A quarterly statement (兑付) to one provider: the voucher shares of its paid invoices,
    plus the provider reward on that turnover."""

    __tablename__ = "reimbursements"
    __table_args__ = (
        UniqueConstraint("provider_id", "period", name="uq_reimbursements_provider_period"),
        CheckConstraint(f"state IN {STATEMENT_STATES!r}", name="state"),
        CheckConstraint("reward_fen >= 0", name="reward"),
        CheckConstraint("clawback_fen >= 0", name="clawback"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    period: Mapped[str] = mapped_column(String(6))  # YYYYQn
    policy_id: Mapped[int] = mapped_column(ForeignKey("subsidy_policies.id"))
    amount_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    reward_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    # reward of earlier statements of the year taken back, when refunds shrank the year's net
    clawback_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    redemption_count: Mapped[int] = mapped_column(default=0)
    state: Mapped[str] = mapped_column(String(8), default="pending")
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # the transfer that paid it (treasury payment voucher or bank reference; migration 0033)
    payment_reference: Mapped[str] = mapped_column(String(64), default="")

    provider: Mapped[Organisation] = relationship()
    policy: Mapped[SubsidyPolicy] = relationship()
    paid_by: Mapped[User | None] = relationship(foreign_keys=[paid_by_id])

    @property
    def total_fen(self) -> int:
        return self.amount_fen + self.reward_fen - self.clawback_fen

    @property
    def net_reward_fen(self) -> int:
        return self.reward_fen - self.clawback_fen


def _current_year(now: datetime) -> int:
    """The first year whose quota has not ended at `now` (the bureau's local year)."""
    year = now.year - 1
    while year_end_utc(year) <= now:
        year += 1
    return year


def in_state_as_of(state: str, now: datetime):
    """Vouchers whose state as of `now` is `state`: rules.voucher_state_at as SQL (an issued
    voucher past its validity, or an application left undecided when its year ended, is
    expired before the daily job writes it). No NULL may reach the NOT below."""
    lapsed = or_(and_(Voucher.state == "issued", Voucher.valid_until.is_not(None),
                      Voucher.valid_until <= now),
                 and_(Voucher.state == "applied", Voucher.year < _current_year(now)))
    if state == "expired":
        return or_(Voucher.state == "expired", lapsed)
    return and_(Voucher.state == state, ~lapsed)
