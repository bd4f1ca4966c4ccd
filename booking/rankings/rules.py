"""Scoring, grading and the reward split as pure functions on plain values.

rank(indicators_by_org, rules) -> rows
    Each indicator is normalised against its target to 0..1 (capped at 1):
    higher-is-better value/target; idle_rate (lower is better) full marks at or under the
    target, falling linearly to 0 at 1; the hours indicators (decision_speed, turnaround)
    full marks at or under target_hours, 0 at ten times that, linear between. A missing value
    (no data in the period) scores 0, except the hours indicators, where nothing waited (no
    request for a decision, no test order for its report) and full marks are given.
    Normalised values are weighted and summed to 0..100 (weights sum to 100). A stored policy
    without an indicator added later scores it with weight 0 (policy.completed).
    Order: score, then the tie-break area's sub-score (sharing), both descending; units still
    equal share a rank. Red-flagged units come last and are graded poor.
    Grades: excellent needs the excellent minimum score and a place within the excellent
    quota (at most excellent_max_share of the ranked units, rounded down); good likewise; pass
    needs the pass minimum; the rest are poor. A tie group that would overflow a quota drops
    to the next grade as a whole.

split_rewards(rows, pool_fen, rules) -> (rewards by org, remainder)
    Eligible grades only; each unit's claim is grade weight x score; shares pro rata to
    claims (or, with within_grade = "equal", to the grade weight alone), capped at
    max_share_per_institution of the pool; what the cap cuts off goes to
    the uncapped units pro rata (water-filling), and is the remainder only when every unit is
    capped. Whole fen by the largest-remainder method: the awards
    plus the remainder are exactly the pool.
"""
import math
from dataclasses import dataclass, field, fields
from fractions import Fraction
from functools import lru_cache

from booking.core import clock
from booking.core.clock import Period, PeriodError  # noqa: F401 - the rankings' period types
from booking.rankings.policy import (
    AREAS,
    HOURS_INDICATORS,
    INDICATORS,
    LOWER_IS_BETTER,
    completed,
)

DECISION_ZERO_FACTOR = 10  # the hours indicators score 0 at this multiple of target_hours


def parse_period(text: str) -> Period:
    """A ranking covers a local year or quarter (YYYY or YYYYQn)."""
    return clock.parse_period(text, "year", "quarter")


def freshness(age_days: float, fresh_days: float, stale_days: float) -> float:
    """1 when updated within fresh_days, 0 from stale_days on, linear between."""
    if age_days <= fresh_days:
        return 1.0
    if age_days >= stale_days:
        return 0.0
    return (stale_days - age_days) / (stale_days - fresh_days)


def normalise(indicator: str, value: float | None, spec: dict) -> float:
    if indicator in HOURS_INDICATORS:
        return _hours_score(value, spec["target_hours"])
    if value is None:
        return 0.0
    target = spec["target"]
    if indicator in LOWER_IS_BETTER:
        if value <= target:
            return 1.0
        return max(0.0, (1 - value) / (1 - target))
    return max(0.0, min(1.0, value / target))


def _hours_score(hours: float | None, target_hours: float) -> float:
    if hours is None or hours <= target_hours:
        return 1.0
    zero_at = DECISION_ZERO_FACTOR * target_hours
    return max(0.0, (zero_at - hours) / (zero_at - target_hours))


def histogram_median(pairs: list[tuple[float, int]]) -> float:
    """The median of values given as (value, count) pairs: the middle value, or the mean of
    the two middle values."""
    total = sum(count for _value, count in pairs)
    positions = sorted({(total + 1) // 2, (total + 2) // 2})
    middle, seen = [], 0
    for value, count in sorted(pairs):
        seen += count
        while positions and positions[0] <= seen:
            middle.append(value)
            positions.pop(0)
    return sum(middle) / len(middle)


@dataclass(frozen=True)
class OrgIndicators:
    org_id: int
    org_name: str
    values: dict  # indicator -> float | None
    flags: tuple = ()
    facts: dict = field(default_factory=dict)  # counts shown beside the score, not scored


@dataclass
class Row:
    org_id: int
    org_name: str
    score: float
    areas: dict
    points: dict
    indicators: dict
    flags: list
    facts: dict = field(default_factory=dict)
    rank: int = 0
    grade: str = "poor"
    reward_fen: int = 0
    # exact values: ordering, ties and grade thresholds compare these, never the rounded ones
    exact_score: Fraction = field(default=Fraction(0), repr=False)
    exact_areas: dict = field(default_factory=dict, repr=False)

    def as_dict(self) -> dict:
        """What a snapshot stores and shows (scores rounded to 2 places, for display), and the
        exact score as a fraction's text, which a later split of the pool reads. Shallow: a
        row's dicts are its own (score_org builds them), and asdict's deep copies were a tenth
        of a province's ranking."""
        return {**{name: getattr(self, name) for name in _STORED_FIELDS},
                "exact_score": str(self.exact_score)}

    @classmethod
    def from_dict(cls, stored: dict) -> "Row":
        """A stored row (snapshots stored before the exact score split by the rounded one)."""
        row = {key: value for key, value in stored.items() if key != "exact_score"}
        return cls(**row, exact_score=Fraction(stored.get("exact_score") or str(stored["score"])))


_STORED_FIELDS = tuple(f.name for f in fields(Row) if not f.name.startswith("exact_"))


def score_org(org: OrgIndicators, rules: dict) -> Row:
    """Points per indicator, area and in all, exactly (Fractions of the unrounded indicator
    values, see _exact); the Row also carries them rounded for display."""
    exact_points, areas, values = {}, dict.fromkeys(AREAS, Fraction(0)), {}
    for name in INDICATORS:
        spec = rules["indicators"][name]
        raw = org.values.get(name)
        values[name] = _stored(raw)
        fraction = _exact(normalise(name, None if raw is None else float(raw), spec))
        exact_points[name] = _weight(spec["weight"]) * fraction
        areas[spec["area"]] += exact_points[name]
    flags = [flag for flag in org.flags if flag in rules["grades"]["red_flags"]]
    score = sum(exact_points.values(), Fraction(0))
    return Row(org_id=org.org_id, org_name=org.org_name, score=round(float(score), 2),
               areas={area: round(float(points), 2) for area, points in areas.items()},
               points={name: round(float(points), 2) for name, points in exact_points.items()},
               indicators=values, flags=flags, facts=dict(org.facts), exact_score=score,
               exact_areas=areas)


# Both are pure and see the same few values again and again (weights; 0 and 1 for most
# normalised indicators): cached, a province's 5,600 of each cost next to nothing.
@lru_cache(maxsize=4096)
def _exact(fraction: float) -> Fraction:
    """The rational a normalised indicator stands for: the nearest with a denominator up to
    10^9, so binary noise (0.6 / 1 = 0.6000000000000001) is gone while a real 0.849975 stays
    below 0.85."""
    return Fraction(fraction).limit_denominator(10**9)


@lru_cache(maxsize=64)
def _weight(weight: float) -> Fraction:
    return Fraction(str(weight))


def _stored(value):
    return None if value is None else round(float(value), 4)


def rank(indicators_by_org: dict[int, OrgIndicators], rules: dict) -> list[Row]:
    rules = completed(rules)
    rows = [score_org(org, rules) for org in indicators_by_org.values()]
    tie_area = rules["grades"]["tie_break"]
    rows.sort(key=lambda r: (bool(r.flags), -r.exact_score, -r.exact_areas[tie_area],
                             r.org_name, r.org_id))
    groups = _tie_groups(rows, tie_area)
    _assign_grades(groups, len(rows), rules["grades"])
    return rows


def _tie_groups(rows: list[Row], tie_area: str) -> list[list[Row]]:
    groups: list[list[Row]] = []
    position = 0
    for row in rows:
        previous = groups[-1][0] if groups else None
        if previous is not None and (
                bool(previous.flags), previous.exact_score, previous.exact_areas[tie_area]) == (
                bool(row.flags), row.exact_score, row.exact_areas[tie_area]):
            groups[-1].append(row)
        else:
            groups.append([row])
        position += 1
        row.rank = position - len(groups[-1]) + 1
    return groups


def _assign_grades(groups: list[list[Row]], ranked: int, grades: dict) -> None:
    """Down the ranking, tie group by tie group. Grades never rise going down: once a group
    cannot fit a quota, the grade is closed to every unit below it (DESIGN §6)."""
    quotas = {grade: math.floor(Fraction(str(grades[f"{grade}_max_share"])) * ranked)
              for grade in ("excellent", "good")}
    used, closed = dict.fromkeys(quotas, 0), set()
    for group in groups:
        grade = _group_grade(group, grades, quotas, used, closed)
        if grade in used:
            used[grade] += len(group)
        for row in group:
            row.grade = grade


def _group_grade(group: list[Row], grades: dict, quotas: dict, used: dict, closed: set) -> str:
    first = group[0]
    if first.flags:
        return "poor"
    for grade in ("excellent", "good"):
        if grade in closed or first.exact_score < _threshold(grades, grade):
            continue
        if used[grade] + len(group) <= quotas[grade]:
            return grade
        closed.add(grade)
    return "pass" if first.exact_score >= _threshold(grades, "pass") else "poor"


def _threshold(grades: dict, grade: str) -> Fraction:
    return Fraction(str(grades[f"{grade}_min_score"]))


def split_rewards(rows: list[Row], pool_fen: int, rules: dict) -> tuple[dict[int, int], int]:
    """Rewards in whole fen by org id, and the remainder; their sum is exactly the pool."""
    rewards_rules = rules["rewards"]
    by_score = rewards_rules.get("within_grade", "score") == "score"  # else equal in a grade
    claims = {row.org_id: Fraction(rewards_rules["grade_weight"][row.grade]) *
              (row.exact_score if by_score else 1) for row in rows
              if row.grade in rewards_rules["eligible_grades"] and row.exact_score > 0}
    total = sum(claims.values())
    awards = dict.fromkeys((row.org_id for row in rows), 0)
    if pool_fen <= 0 or total == 0:
        return awards, max(pool_fen, 0)
    cap = reward_cap_fen(pool_fen, rules)
    capped, uncapped = _water_fill(claims, pool_fen, cap)
    for org_id in capped:
        awards[org_id] = cap
    order = [row.org_id for row in rows]
    for org_id, fen in _largest_remainder(uncapped, order).items():
        awards[org_id] = fen
    return awards, pool_fen - sum(awards.values())


def reward_cap_fen(pool_fen: int, rules: dict) -> int:
    """The most one unit receives of the pool."""
    return math.floor(Fraction(str(rules["rewards"]["max_share_per_institution"])) * pool_fen)


def _water_fill(claims: dict[int, Fraction], pool_fen: int, cap: int
                ) -> tuple[set[int], dict[int, Fraction]]:
    """Units whose pro-rata share reaches the cap get the cap; what it cuts off goes to the
    others, pro rata again, until no share exceeds the cap (DESIGN §6). Returns the capped
    units and the exact shares of the rest."""
    capped: set[int] = set()
    while True:
        free = {org_id: claim for org_id, claim in claims.items() if org_id not in capped}
        left, total = pool_fen - cap * len(capped), sum(free.values(), Fraction(0))
        shares = {org_id: left * claim / total for org_id, claim in free.items()} if total \
            else {}
        over = {org_id for org_id, share in shares.items() if share > cap}
        if not over:
            return capped, shares
        capped |= over


def _largest_remainder(exact: dict[int, Fraction], order: list[int]) -> dict[int, int]:
    """Floors, plus one fen each to the largest fractions until the floor of the total is
    reached (ties go to the better-ranked unit)."""
    floors = {org_id: math.floor(share) for org_id, share in exact.items()}
    extra = math.floor(sum(exact.values(), Fraction(0))) - sum(floors.values())
    by_fraction = sorted(exact, key=lambda org_id: (-(exact[org_id] - floors[org_id]),
                                                    order.index(org_id)))
    for org_id in by_fraction[:extra]:
        floors[org_id] += 1
    return floors


def largest_gaps(row: dict, rules: dict, limit: int = 3) -> list[tuple[str, float]]:
    """The indicators where the unit loses most weighted points (what would raise its score)."""
    gaps = [(name, round(rules["indicators"][name]["weight"] - row["points"][name], 2))
            for name in INDICATORS if name in row["points"]]  # older snapshots lack some
    gaps = [gap for gap in gaps if gap[1] > 0]
    return sorted(gaps, key=lambda gap: (-gap[1], INDICATORS.index(gap[0])))[:limit]

