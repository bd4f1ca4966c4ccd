"""Scoring, grading, rewards and periods, with hand-computed expectations."""
import json
from datetime import UTC, date, datetime
from fractions import Fraction

import pytest

from booking.rankings.policy import completed, default_rules, policy_problems, with_settings
from booking.rankings.rules import (
    OrgIndicators,
    PeriodError,
    Row,
    freshness,
    histogram_median,
    largest_gaps,
    normalise,
    parse_period,
    rank,
    split_rewards,
)

RULES = default_rules()

HALF_WAY = {"open_rate": 1.0, "directory_quality": 0.5, "decision_speed": 24,
            "turnaround": 660, "effective_hours": 0.5, "idle_rate": 0.2, "outcomes": 0.5,
            "external_share": 0.085, "sme_reach": 2.5, "user_rating": 4.0,
            "external_income": 0.1}


def uniform(fraction: float) -> dict:
    """Values that normalise to `fraction` on every indicator, so the score is 100 x fraction."""
    values = {name: fraction * RULES["indicators"][name].get("target", 0)
              for name in HALF_WAY}
    values["idle_rate"] = 1 - fraction
    values["decision_speed"] = 240 - 216 * fraction
    values["turnaround"] = 1200 - 1080 * fraction
    return values


def org(org_id, values, flags=()):
    return OrgIndicators(org_id, f"机构{org_id}", values, tuple(flags))


def test_hand_computed_score_and_area_subscores():
    (row,) = rank({1: org(1, HALF_WAY)}, RULES)
    # 8 + 3 + 4 + 1 + 12.5 + 4 + 5 + 7.5 + 5 + 8 + 2.5: turnaround 660 h is half way from
    # 120 h (full) to 1,200 h (zero), so 0.5 x 2 = 1 point
    assert row.score == 60.5
    assert row.areas == {"organisation": 16.0, "operation": 21.5, "sharing": 23.0}
    assert row.points["turnaround"] == 1.0 and row.indicators["turnaround"] == 660
    assert row.points["idle_rate"] == 4.0 and row.points["external_share"] == 7.5
    assert row.rank == 1 and row.grade == "pass"  # one unit: the quotas round down to 0


@pytest.mark.parametrize("hours, expected", [(None, 1.0), (10, 1.0), (24, 1.0), (132, 0.5),
                                             (240, 0.0), (1000, 0.0)])
def test_decision_speed_full_at_target_zero_at_ten_times(hours, expected):
    assert normalise("decision_speed", hours, {"target_hours": 24}) == pytest.approx(expected)


@pytest.mark.parametrize("hours, expected", [
    (None, 1.0),     # no test order reported in the period: nothing waited, full marks
    (72, 1.0), (120, 1.0),                      # at or under the 120 h target
    (660, 0.5),      # (1,200 - 660) / (1,200 - 120) = 540 / 1,080
    (300, 5 / 6),    # (1,200 - 300) / 1,080 = 900 / 1,080
    (1200, 0.0), (5000, 0.0)])                  # zero from ten times the target on
def test_turnaround_full_at_target_zero_at_ten_times(hours, expected):
    assert normalise("turnaround", hours, RULES["indicators"]["turnaround"]) == \
        pytest.approx(expected)


def test_turnaround_points_against_its_own_target():
    """The default weight is 2: 300 h earns 2 x 5/6 = 1.67 points; 72 h against a 24 h target
    earns 2 x (240 - 72) / (240 - 24) = 2 x 168/216 = 1.56 points."""
    (row,) = rank({1: org(1, HALF_WAY | {"turnaround": 300})}, RULES)
    assert row.points["turnaround"] == 1.67
    assert row.points["decision_speed"] == 4.0  # 24 h: at its own target of 24 h
    strict = with_settings(RULES, {}, {"turnaround": 24})
    (row,) = rank({1: org(1, HALF_WAY | {"turnaround": 72})}, strict)
    assert row.points["turnaround"] == 1.56


def _version_1() -> dict:
    """The policy as stored before the turnaround indicator: decision_speed still weighs 6."""
    rules = default_rules()
    del rules["indicators"]["turnaround"]
    rules["indicators"]["decision_speed"]["weight"] = 6
    return rules


def test_a_policy_stored_before_turnaround_scores_it_with_weight_0():
    old = _version_1()
    (row,) = rank({1: org(1, HALF_WAY)}, old)
    # 8 + 3 + 6 + 0 + 12.5 + 4 + 5 + 7.5 + 5 + 8 + 2.5: the old weights, turnaround at 0
    assert row.score == 61.5 and row.points["turnaround"] == 0.0
    assert row.indicators["turnaround"] == 660  # shown all the same
    assert "turnaround" not in old["indicators"]  # the stored version is left alone
    assert largest_gaps(row.as_dict(), completed(old))[0] == ("effective_hours", 12.5)


def test_largest_gaps_of_a_snapshot_older_than_turnaround():
    (row,) = rank({1: org(1, HALF_WAY)}, RULES)
    stored = row.as_dict()
    del stored["points"]["turnaround"], stored["indicators"]["turnaround"]
    assert largest_gaps(stored, _version_1()) == [("effective_hours", 12.5),
                                                  ("external_share", 7.5), ("outcomes", 5.0)]


@pytest.mark.parametrize("name, value, expected", [
    ("external_share", 0.34, 1.0),       # capped at the target
    ("external_share", 0.017, 0.1),
    ("external_share", None, 0.0),       # no data scores nothing
    ("idle_rate", 0.0, 1.0), ("idle_rate", 0.25, 0.75), ("idle_rate", 1.0, 0.0),
    ("user_rating", 2.5, 0.5),
])
def test_normalise_against_target(name, value, expected):
    assert normalise(name, value, RULES["indicators"][name]) == pytest.approx(expected)


def test_idle_rate_with_a_tolerance_falls_linearly_from_the_target():
    assert normalise("idle_rate", 0.2, {"target": 0.2}) == 1.0
    assert normalise("idle_rate", 0.6, {"target": 0.2}) == pytest.approx(0.5)


def test_one_unit_passes_at_60_but_quotas_round_down():
    (row,) = rank({1: org(1, uniform(0.9))}, RULES)
    assert row.score == 90.0 and row.grade == "pass"


def test_grades_follow_thresholds_and_quotas():
    fractions = [0.95, 0.9, 0.88, 0.8, 0.78, 0.76, 0.7, 0.65, 0.5, 0.3]
    rows = rank({i: org(i, uniform(f)) for i, f in enumerate(fractions, 1)}, RULES)
    assert [r.score for r in rows] == [95, 90, 88, 80, 78, 76, 70, 65, 50, 30]
    # 10 units: at most 1 excellent (15 %) and 3 good (30 %)
    assert [r.grade for r in rows] == ["excellent", "good", "good", "good", "pass", "pass",
                                       "pass", "pass", "poor", "poor"]
    assert [r.rank for r in rows] == list(range(1, 11))


def test_good_needs_the_minimum_score_even_with_quota_left():
    fractions = [0.95, 0.74, 0.6, 0.59] + [0.1] * 6
    rows = rank({i: org(i, uniform(f)) for i, f in enumerate(fractions, 1)}, RULES)
    assert [r.grade for r in rows[:4]] == ["excellent", "pass", "pass", "poor"]


def test_tie_group_overflowing_a_quota_drops_whole():
    fractions = [0.95, 0.95] + [0.5] * 8
    rows = rank({i: org(i, uniform(f)) for i, f in enumerate(fractions, 1)}, RULES)
    assert [r.rank for r in rows[:3]] == [1, 1, 3]
    assert [r.grade for r in rows[:2]] == ["good", "good"]


def test_equal_scores_are_ordered_by_the_sharing_subscore():
    zero = {name: 0 for name in HALF_WAY} | {"decision_speed": 1000, "turnaround": 5000,
                                             "idle_rate": 1.0}
    sharer = org(1, zero | {"external_share": 0.17})                       # 15 points, sharing
    organiser = org(2, zero | {"open_rate": 1.0, "directory_quality": 1.0, "outcomes": 0.1})
    rows = rank({2: organiser, 1: sharer}, RULES)
    assert [r.score for r in rows] == [15.0, 15.0]
    assert [r.org_id for r in rows] == [1, 2] and [r.rank for r in rows] == [1, 2]


def test_red_flag_forces_poor_and_ranks_last():
    rows = rank({1: org(1, uniform(1.0), flags=["no_listed_instruments"]),
                 2: org(2, uniform(0.7))}, RULES)
    assert [(r.org_id, r.grade) for r in rows] == [(2, "pass"), (1, "poor")]
    assert rows[1].flags == ["no_listed_instruments"] and rows[1].score == 100.0


def test_empty_period_ranks_nobody():
    assert rank({}, RULES) == []
    assert split_rewards([], 1_000_000, RULES) == ({}, 1_000_000)


def _graded(scores_and_grades):
    rows = rank({i: org(i, uniform(s / 100)) for i, (s, _g) in enumerate(scores_and_grades, 1)},
                RULES)
    for row, (_score, grade) in zip(rows, scores_and_grades, strict=True):
        row.grade = grade
    return rows


def test_rewards_pro_rata_by_grade_weight_and_score_with_largest_remainder():
    rows = _graded([(90, "excellent"), (80, "good"), (76, "good"), (70, "pass")])
    rules = with_rewards_cap(1.0)
    awards, remainder = split_rewards(rows, 1_000_000, rules)
    # claims 180, 80, 76 of 336: 535714.29, 238095.24, 226190.48 -> one spare fen to the .48
    assert awards == {1: 535_714, 2: 238_095, 3: 226_191, 4: 0}
    assert remainder == 0


def test_within_a_grade_rewards_can_be_equal():
    rows = _graded([(90, "excellent"), (80, "good"), (76, "good"), (70, "pass")])
    rules = with_rewards_cap(1.0)
    rules["rewards"]["within_grade"] = "equal"
    awards, remainder = split_rewards(rows, 1_000_000, rules)
    # claims by grade weight alone: 2, 1, 1 of 4 -> 500,000, 250,000, 250,000
    assert awards == {1: 500_000, 2: 250_000, 3: 250_000, 4: 0} and remainder == 0
    rules["rewards"]["within_grade"] = "by_size"
    assert [p.code for p in policy_problems(rules)] == ["within_grade"]


def test_what_the_cap_cuts_off_goes_to_the_uncapped_units():
    rows = _graded([(90, "excellent"), (80, "good"), (76, "good")])
    awards, remainder = split_rewards(rows, 1_000_000, with_rewards_cap(0.5))
    # claims 180, 80, 76: unit 1's share 535,714.29 > the cap 500,000, so it gets 500,000;
    # the other 500,000 go to claims 80 and 76 of 156: 256,410.26 and 243,589.74, floors
    # 256,410 + 243,589 = 499,999, the spare fen to the larger fraction (.74)
    assert awards == {1: 500_000, 2: 256_410, 3: 243_590} and remainder == 0


def test_the_pool_is_split_by_the_exact_scores_also_when_re_split_from_stored_rows():
    """Reported: 75.004 and 80.995, shown as 75.00 and 81.00, were paid by the shown scores
    (48,076,923 and 51,923,077 fen); pro rata to the exact ones it is 48,079,795.38 and
    51,920,204.62."""
    rows = [Row(org_id=i, org_name=f"机构{i}", score=round(float(exact), 2), areas={},
                points={}, indicators={}, flags=[], grade="good", exact_score=exact)
            for i, exact in ((1, Fraction("75.004")), (2, Fraction("80.995")))]
    expected = ({1: 48_079_795, 2: 51_920_205}, 0)
    assert split_rewards(rows, 100_000_000, with_rewards_cap(1.0)) == expected
    stored = [row.as_dict() for row in rows]  # what a snapshot keeps (JSON)
    assert [row["score"] for row in stored] == [75.0, 81.0]
    again = [Row.from_dict(row) for row in stored]  # a new pool re-splits these
    assert split_rewards(again, 100_000_000, with_rewards_cap(1.0)) == expected
    older = [{k: v for k, v in row.items() if k != "exact_score"} for row in stored]
    assert Row.from_dict(older[1]).exact_score == 81  # stored before: split as shown


def test_water_filling_goes_round_until_no_share_exceeds_the_cap():
    rows = _graded([(90, "excellent"), (88, "excellent"), (80, "good"), (60, "good")])
    awards, remainder = split_rewards(rows, 1_000_000, with_rewards_cap(0.3))
    # claims 180, 176, 80, 60 of 496: 362,903 and 354,839 exceed the 300,000 cap;
    # 400,000 left for claims 80 and 60 of 140: 228,571.43 (> cap? no) and 171,428.57;
    # floors 228,571 + 171,428 = 399,999, the spare fen to the .57
    assert awards == {1: 300_000, 2: 300_000, 3: 228_571, 4: 171_429} and remainder == 0
    # with a 20 % cap the first round caps two, the second round caps the third
    awards, remainder = split_rewards(rows, 1_000_000, with_rewards_cap(0.2))
    # 600,000 for claims 80 and 60: 342,857 > 200,000 and 257,143 > 200,000: all capped
    assert awards == {1: 200_000, 2: 200_000, 3: 200_000, 4: 200_000}
    assert remainder == 200_000  # every unit at its cap: the rest stays in the pool


def test_grades_never_rise_going_down_the_ranking():
    """14 units: at most 2 excellent (floor 15 % x 14) and 4 good (floor 30 % x 14)."""
    fractions = [0.95, 0.9, 0.9, 0.87] + [0.5] * 10
    rows = rank({i: org(i, uniform(f)) for i, f in enumerate(fractions, 1)}, RULES)
    # 95 takes one excellent place; the tie at 90 needs two of the one left, so excellent
    # closes: 87 is good, though one excellent place stays free
    assert [r.grade for r in rows[:4]] == ["excellent", "good", "good", "good"]


def test_thresholds_compare_the_exact_score():
    """84.9975 is not 85: the score is rounded only for display."""
    just_under = uniform(0.849975)
    rows = rank({1: org(1, uniform(0.95)), 2: org(2, just_under),
                 **{i: org(i, uniform(0.1)) for i in range(3, 15)}}, RULES)
    assert rows[1].score == 85.0 and rows[1].exact_score < 85  # shown as 85.00
    assert rows[1].grade == "good"
    stored = json.loads(json.dumps(rows[1].as_dict()))  # a snapshot's JSON keeps it exactly
    assert Fraction(stored["exact_score"]) == rows[1].exact_score


def test_default_cap_of_15_percent():
    rows = _graded([(90, "excellent"), (80, "good")])
    awards, remainder = split_rewards(rows, 999_999, RULES)
    assert awards == {1: 149_999, 2: 149_999} and remainder == 700_001


def test_no_eligible_unit_leaves_the_whole_pool():
    rows = _graded([(70, "pass"), (40, "poor")])
    assert split_rewards(rows, 500, RULES) == ({1: 0, 2: 0}, 500)


def with_rewards_cap(cap):
    rules = with_settings(RULES, {}, {})
    rules["rewards"]["max_share_per_institution"] = cap
    return rules


def test_largest_gaps_names_what_would_raise_the_score():
    (row,) = rank({1: org(1, HALF_WAY)}, RULES)
    assert largest_gaps(row.as_dict(), RULES) == [("effective_hours", 12.5),
                                                 ("external_share", 7.5), ("outcomes", 5.0)]


@pytest.mark.parametrize("text, label, first, end, days", [
    ("2026", "2026", date(2026, 1, 1), date(2027, 1, 1), 365),
    ("2026q3", "2026Q3", date(2026, 7, 1), date(2026, 10, 1), 92),
    ("2024Q1", "2024Q1", date(2024, 1, 1), date(2024, 4, 1), 91),
    (" 2026Q4 ", "2026Q4", date(2026, 10, 1), date(2027, 1, 1), 92),
])
def test_parse_period(text, label, first, end, days):
    period = parse_period(text)
    assert (period.label, period.first_day, period.end_day, period.days) == (label, first, end,
                                                                              days)


def test_period_bounds_are_china_midnights_in_utc():
    period = parse_period("2026Q3")
    assert period.start == datetime(2026, 6, 30, 16, tzinfo=UTC)
    assert period.end == datetime(2026, 9, 30, 16, tzinfo=UTC)
    assert parse_period("2024").year_days == 366


@pytest.mark.parametrize("text", ["", "26Q1", "2026Q5", "2026Q", "Q3", "2026-07", "abcd"])
def test_bad_periods_are_refused_with_a_message(text):
    with pytest.raises(PeriodError, match="YYYY|quarter"):
        parse_period(text)


@pytest.mark.parametrize("text, previous", [("2026Q3", "2026Q2"), ("2026Q1", "2025Q4"),
                                            ("2026", "2025")])
def test_previous_period(text, previous):
    assert parse_period(text).previous().label == previous


@pytest.mark.parametrize("age, expected", [(0, 1.0), (180, 1.0), (455, 0.5), (730, 0.0),
                                           (2000, 0.0)])
def test_freshness(age, expected):
    assert freshness(age, 180, 730) == pytest.approx(expected)


@pytest.mark.parametrize("pairs, expected", [
    ([(4.0, 1)], 4.0),
    ([(30.0, 1), (2.0, 1), (4.0, 1)], 4.0),              # odd: the middle value
    ([(1.0, 1), (2.0, 1), (3.0, 1), (10.0, 1)], 2.5),    # even: mean of the two middle
    ([(1.0, 3), (5.0, 1)], 1.0),
    ([(1.0, 2), (5.0, 2)], 3.0),                         # the middle straddles two values
    ([(0.5, 1000), (48.0, 1001)], 48.0),
])
def test_histogram_median(pairs, expected):
    assert histogram_median(pairs) == expected
