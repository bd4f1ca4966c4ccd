"""Ranking workflows: policy versions, snapshots, reward pools, ratings. They flush, never
commit: the route or command commits once. Rankings only read the other areas' tables."""
from collections.abc import Callable

from sqlalchemy import func, select

from booking.accounts.models import Organisation, User
from booking.accounts.rules import PROVIDER_KINDS
from booking.core import audit
from booking.core.clock import local_today, now_utc
from booking.core.problems import Refused, _l
from booking.extensions import db
from booking.rankings import indicators
from booking.rankings.models import RankingFlag, RankingPolicy, RankingSnapshot, RewardPool
from booking.rankings.policy import completed, policy_problems, with_settings
from booking.rankings.rules import (
    Period,
    Row,
    parse_period,
    rank,
    split_rewards,
)


class RankingError(Refused):
    """A ranking workflow refused (a published ranking or policy never changes)."""


class PolicyRefused(RankingError):
    """The ranking policy's settings are not usable: every problem is listed."""


# --- policy ----------------------------------------------------------------------------------
def current_policy() -> RankingPolicy:
    """The latest published version (version 1 is seeded by the migration)."""
    return db.session.scalar(select(RankingPolicy).where(RankingPolicy.published_at.is_not(None))
                             .order_by(RankingPolicy.version.desc()).limit(1))


def draft_policy() -> RankingPolicy | None:
    return db.session.scalar(select(RankingPolicy).where(RankingPolicy.published_at.is_(None)))


def policy_versions() -> list[RankingPolicy]:
    return list(db.session.scalars(select(RankingPolicy).order_by(RankingPolicy.version.desc())))


def save_draft(weights: dict[str, int], targets: dict[str, float], actor: User) -> RankingPolicy:
    """Validate the settings against the current policy and keep them as the draft."""
    rules = with_settings(completed(current_policy().rules), weights, targets)
    problems = policy_problems(rules)
    if problems:
        raise PolicyRefused(problems)
    draft = draft_policy()
    if draft is None:
        version = db.session.scalar(select(func.max(RankingPolicy.version))) + 1
        draft = RankingPolicy(version=version, rules=rules, created_by_id=actor.id)
        db.session.add(draft)
    else:
        draft.rules = rules
    db.session.flush()
    audit.record("ranking_policy.draft_saved", actor=actor, obj=draft, version=draft.version)
    return draft


def publish_policy(draft: RankingPolicy, actor: User) -> None:
    if draft.is_published:
        raise RankingError.one("published", _l("Version %(version)s is already published."),
                               version=draft.version)
    rules = completed(draft.rules)  # a draft saved before an indicator was added
    problems = policy_problems(rules)
    if problems:
        raise PolicyRefused(problems)
    draft.rules = rules
    draft.published_at = now_utc()
    draft.published_by_id = actor.id
    audit.record("ranking_policy.published", actor=actor, obj=draft, version=draft.version)


# --- snapshots -------------------------------------------------------------------------------
def get_period(text: str) -> Period:
    try:
        return parse_period(text)
    except ValueError as exc:
        raise RankingError.one("bad_period", _l(
            "%(text)s is not a period: use YYYY or YYYYQn, e.g. 2026Q3."), text=text) from exc


def get_snapshot(period: str) -> RankingSnapshot | None:
    return db.session.scalar(select(RankingSnapshot).where(RankingSnapshot.period == period))


def snapshots() -> list[RankingSnapshot]:
    return list(db.session.scalars(select(RankingSnapshot)
                                   .order_by(RankingSnapshot.period.desc())))


def latest_published() -> RankingSnapshot | None:
    return db.session.scalar(select(RankingSnapshot)
                             .where(RankingSnapshot.published_at.is_not(None))
                             .order_by(RankingSnapshot.period.desc()).limit(1))


def previous_snapshot(snapshot: RankingSnapshot) -> RankingSnapshot | None:
    return get_snapshot(parse_period(snapshot.period).previous().label)


def compute_snapshot(period_text: str, actor: User | None = None,
                     progress: Callable[[str], None] | None = None) -> RankingSnapshot:
    """Compute a period's ranking with the current policy and store it, replacing an
    unpublished snapshot of the period; a published one is never recomputed."""
    period = get_period(period_text)
    if now_utc() < period.start:
        raise RankingError.one("not_started", _l(
            "%(period)s has not begun: there is nothing to rank yet."), period=period.label)
    existing = get_snapshot(period.label)
    if existing is not None and existing.is_published:
        raise RankingError.one("published", _l(
            "The ranking of %(period)s is published and cannot change."), period=period.label)
    policy = current_policy()
    rules = completed(policy.rules)  # every indicator, those the version predates at weight 0
    facts = indicators.compute(period, rules, progress)
    rows = rank(facts, rules)
    snapshot = existing or RankingSnapshot(period=period.label)
    snapshot.policy_id, snapshot.policy_version = policy.id, policy.version
    snapshot.rules, snapshot.computed_at = rules, now_utc()
    snapshot.computed_by_id = actor.id if actor else None
    _store_rows(snapshot, [row.as_dict() for row in rows], reward_pool_fen(period.label))
    db.session.add(snapshot)
    db.session.flush()
    audit.record("ranking.computed", actor=actor, obj=snapshot, period=period.label,
                 policy_version=policy.version, units=len(rows))
    return snapshot


def _store_rows(snapshot: RankingSnapshot, rows: list[dict], pool_fen: int) -> None:
    """Split the pool over the rows and store both (JSON is replaced, never mutated)."""
    awards, remainder = split_rewards(_as_rows(rows), pool_fen, snapshot.rules)
    snapshot.rows = [{**row, "reward_fen": awards.get(row["org_id"], 0)} for row in rows]
    snapshot.reward_pool_fen, snapshot.reward_remainder_fen = pool_fen, remainder


def _as_rows(rows: list[dict]) -> list[Row]:
    return [Row.from_dict(row) for row in rows]


def publish_snapshot(snapshot: RankingSnapshot, actor: User | None) -> None:
    if snapshot.is_published:
        raise RankingError.one("published", _l("The ranking of %(period)s is already published."),
                               period=snapshot.period)
    if snapshot.computed_early:  # its figures cover part of the period: a preview
        raise RankingError.one("computed_early", _l(
            "The ranking of %(period)s was computed before the period ended: compute it again "
            "once it has ended, then publish."), period=snapshot.period)
    if flags_changed_since(snapshot):
        raise RankingError.one("flags_changed", _l(
            "A red flag of %(period)s was raised or cleared after its ranking was computed: "
            "compute it again so that the flag counts, then publish."), period=snapshot.period)
    if not indicators.has_activity(get_period(snapshot.period)):
        raise RankingError.one("no_activity", _l(
            "Nothing was booked or used on the platform in %(period)s: its ranking would grade "
            "every institution on no data, so it is not published."), period=snapshot.period)
    snapshot.published_at = now_utc()
    snapshot.published_by_id = actor.id if actor else None
    audit.record("ranking.published", actor=actor, obj=snapshot, period=snapshot.period)


# --- reward pool -----------------------------------------------------------------------------
def reward_pool_fen(period: str) -> int:
    return db.session.scalar(select(RewardPool.amount_fen).where(RewardPool.period == period)) or 0


def rewarded_period(period: str) -> bool:
    """Whether rewards go with the period's ranking: the policy's period (a year; quarterly
    rankings are for monitoring)."""
    return get_period(period).kind == current_policy().rules.get("period", "year")


def set_reward_pool(period_text: str, amount_fen: int, actor: User | None) -> None:
    """Set a period's pool; an unpublished snapshot of the period is re-split at once. A pool
    is budgeted at most for next year's periods (a year typed wrong must not park money)."""
    period = get_period(period_text)
    if not rewarded_period(period.label):
        raise RankingError.one("not_rewarded", _l(
            "Rewards go with the annual ranking (%(year)s); quarterly rankings are for "
            "monitoring only."), year=period.first_day.year)
    if period.first_day.year > local_today().year + 1:
        raise RankingError.one("too_far", _l(
            "%(period)s is too far ahead: a reward pool is set for periods up to next year."),
            period=period.label)
    snapshot = get_snapshot(period.label)
    if snapshot is not None and snapshot.is_published:
        raise RankingError.one("published", _l(
            "The ranking of %(period)s is published: its rewards are final."), period=period.label)
    pool = db.session.scalar(select(RewardPool).where(RewardPool.period == period.label))
    if pool is None:
        pool = RewardPool(period=period.label, amount_fen=0)  # no pool before: 0
        db.session.add(pool)
    before = pool.amount_fen
    pool.amount_fen, pool.set_by_id = amount_fen, actor.id if actor else None
    if snapshot is not None:
        _store_rows(snapshot, snapshot.rows, amount_fen)
    db.session.flush()
    audit.record("ranking.reward_pool_set", actor=actor, obj=pool, period=period.label,
                 before=before, after=amount_fen)


# --- red flags -------------------------------------------------------------------------------
def ranked_organisations() -> list[Organisation]:
    """The institutions a ranking covers (universities and institutes)."""
    return list(db.session.scalars(select(Organisation).where(
        Organisation.kind.in_(PROVIDER_KINDS)).order_by(Organisation.name_zh)))


def flags_of(period: str) -> list[RankingFlag]:
    return list(db.session.scalars(select(RankingFlag).where(RankingFlag.period == period)
                                   .order_by(RankingFlag.id)))


def flags_counting_for(period: str) -> list[RankingFlag]:
    """The flags that count in the period's ranking (indicators.flag_periods)."""
    return list(db.session.scalars(select(RankingFlag).where(
        RankingFlag.period.in_(indicators.flag_periods(period))).order_by(RankingFlag.id)))


def flags_changed_since(snapshot: RankingSnapshot) -> bool:
    """Whether a flag counting in the snapshot was raised or cleared after it was computed."""
    return any(flag.created_at > snapshot.computed_at or
               (flag.cleared_at is not None and flag.cleared_at > snapshot.computed_at)
               for flag in flags_counting_for(snapshot.period))


def raise_false_data(org: Organisation, period_text: str, reason: str,
                     actor: User) -> RankingFlag:
    """Flag an institution's data of a period as false: it is graded poor and ranked last in
    the period's ranking (from the next computation; a published ranking never changes)."""
    period = get_period(period_text)
    _unpublished(period.label)
    if now_utc() < period.start:
        raise RankingError.one("not_started", _l(
            "%(period)s has not begun: there is no data of it to flag."), period=period.label)
    if not org.is_provider:
        raise RankingError.one("not_ranked", _l("Only universities and institutes are ranked."))
    if not reason.strip():
        raise RankingError.one("reason", _l("Give the reason for the flag."))
    if any(f.is_active and f.org_id == org.id for f in flags_of(period.label)):
        raise RankingError.one("flagged", _l("This institution is already flagged for %(period)s."),
                               period=period.label)
    flag = RankingFlag(org_id=org.id, period=period.label, kind="false_data",
                       reason=reason.strip(), raised_by_id=actor.id)
    db.session.add(flag)
    db.session.flush()
    audit.record("ranking.flag_raised", actor=actor, obj=flag, org_id=org.id,
                 period=period.label, reason=flag.reason)
    return flag


def clear_flag(flag: RankingFlag, reason: str, actor: User) -> None:
    _unpublished(flag.period)
    if not flag.is_active:
        raise RankingError.one("cleared", _l("This flag is already cleared."))
    if not reason.strip():
        raise RankingError.one("reason", _l("Give the reason for clearing the flag."))
    flag.cleared_at, flag.cleared_by_id, flag.clear_reason = now_utc(), actor.id, reason.strip()
    audit.record("ranking.flag_cleared", actor=actor, obj=flag, org_id=flag.org_id,
                 period=flag.period, reason=flag.clear_reason)


def _unpublished(period: str) -> None:
    snapshot = get_snapshot(period)
    if snapshot is not None and snapshot.is_published:
        raise RankingError.one("published", _l(
            "The ranking of %(period)s is published and cannot change."), period=period)
