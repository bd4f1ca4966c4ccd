"""Ranking policy versions, reward pools and ranking snapshots (ratings are the bookings
area's: rankings only read them)."""
from datetime import datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.accounts.models import Organisation
from booking.core.clock import parse_period
from booking.core.db import TimestampMixin, UTCDateTime
from booking.extensions import db
from booking.rankings.policy import INDICATORS


class RankingPolicy(TimestampMixin, db.Model):
    """Weights, targets, grade bands and reward rules. A published version never changes; at
    most one unpublished draft is edited at a time."""

    __tablename__ = "ranking_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    rules: Mapped[dict] = mapped_column(JSON)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


class RewardPool(TimestampMixin, db.Model):
    """The reward money the bureau sets aside for one period."""

    __tablename__ = "ranking_reward_pools"
    __table_args__ = (CheckConstraint("amount_fen >= 0", name="amount"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(6), unique=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class RankingSnapshot(TimestampMixin, db.Model):
    """A computed ranking of one period: the policy used and the rows (JSON, as shown and
    exported). Recomputing replaces an unpublished snapshot; a published one never changes."""

    __tablename__ = "ranking_snapshots"
    __table_args__ = (
        CheckConstraint("reward_pool_fen >= 0 AND reward_remainder_fen >= 0", name="amounts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(6), unique=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("ranking_policies.id"))
    policy_version: Mapped[int]
    rules: Mapped[dict] = mapped_column(JSON)  # the policy as used, for a self-contained record
    rows: Mapped[list] = mapped_column(JSON)
    reward_pool_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    reward_remainder_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    computed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    policy: Mapped[RankingPolicy] = relationship()

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    @property
    def computed_early(self) -> bool:
        """Computed before its period ended: its figures cover part of the period."""
        return self.computed_at < parse_period(self.period).end

    @staticmethod
    def can_manage(user) -> bool:
        """Computing, publishing, reward pools and the ranking policy: bureau staff."""
        return user.is_authenticated and user.is_bureau

    def can_view(self, user) -> bool:
        return self.is_published or self.can_manage(user)

    def can_view_scorecard(self, user, org_id: int) -> bool:
        """Bureau staff see every scorecard; an institution's lab managers see their own once
        the ranking is published."""
        return self.can_manage(user) or (user.is_authenticated and self.is_published and
                                         org_id in user.managed_organisation_ids())

    @property
    def indicator_names(self) -> tuple[str, ...]:
        """The indicators this snapshot scored (one computed before an indicator was added
        lacks it, in its rules and its rows)."""
        return tuple(name for name in INDICATORS if name in self.rules["indicators"])

    def row_for(self, org_id: int) -> dict | None:
        return next((row for row in self.rows if row["org_id"] == org_id), None)


FLAG_KINDS = ("false_data",)  # raised by the bureau; no_listed_instruments is computed


class RankingFlag(TimestampMixin, db.Model):
    """A red flag bureau staff raised on an institution for one period: the unit is graded
    poor and ranked last in that period's ranking until the flag is cleared."""

    __tablename__ = "ranking_flags"
    __table_args__ = (CheckConstraint(
        f"kind IN ({', '.join(repr(kind) for kind in FLAG_KINDS)})", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    period: Mapped[str] = mapped_column(String(6), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="false_data")
    reason: Mapped[str] = mapped_column(String(500))
    raised_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cleared_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    clear_reason: Mapped[str] = mapped_column(String(500), default="")

    organisation: Mapped["Organisation"] = relationship()

    @property
    def is_active(self) -> bool:
        return self.cleared_at is None
