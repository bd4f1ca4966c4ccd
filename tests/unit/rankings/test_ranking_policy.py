"""The policy file and its validation."""
from booking.rankings.policy import (
    INDICATORS,
    completed,
    default_rules,
    policy_problems,
    target_key,
    with_settings,
)


def codes(rules):
    return [p.code for p in policy_problems(rules)]


def test_defaults_are_valid_and_complete():
    rules = default_rules()
    assert policy_problems(rules) == []
    assert set(rules["indicators"]) == set(INDICATORS)
    assert rules["min_original_value_fen"] == 50_000_000


def test_weights_must_sum_to_100_and_the_message_says_so():
    rules = with_settings(default_rules(), {"open_rate": 10}, {})
    (problem,) = policy_problems(rules)
    assert problem.code == "weights_sum"
    assert problem.message == "The weights add up to 102, not 100."


def test_every_problem_is_reported_at_once():
    rules = with_settings(default_rules(), {"open_rate": -8},
                          {"external_share": 0, "decision_speed": -1, "idle_rate": 1.5})
    rules["grades"]["good_min_score"] = 90
    rules["rewards"]["max_share_per_institution"] = 0
    assert sorted(codes(rules)) == sorted([
        "weight_negative", "target_positive", "target_positive", "target_range", "weights_sum",
        "grade_scores", "reward_cap"])


def test_settings_copy_leaves_the_original_alone():
    rules = default_rules()
    changed = with_settings(rules, {"open_rate": 0, "effective_hours": 33},
                            {"decision_speed": 48})
    assert rules["indicators"]["open_rate"]["weight"] == 8
    assert changed["indicators"]["open_rate"]["weight"] == 0
    assert changed["indicators"]["decision_speed"]["target_hours"] == 48
    assert policy_problems(changed) == []


def test_unknown_red_flag_and_reward_grade():
    rules = default_rules()
    rules["grades"]["red_flags"] = ["late_lunch"]
    rules["rewards"]["eligible_grades"] = ["excellent", "stellar"]
    assert sorted(codes(rules)) == ["red_flag_unknown", "reward_grade"]


def test_turnaround_defaults_take_two_points_from_decision_speed():
    indicators = default_rules()["indicators"]
    assert indicators["turnaround"] == {"area": "organisation", "weight": 2,
                                        "target_hours": 120}
    assert indicators["decision_speed"]["weight"] == 4
    assert target_key("turnaround") == target_key("decision_speed") == "target_hours"
    assert target_key("open_rate") == "target"


def test_turnaround_target_is_checked_like_decision_speed():
    rules = with_settings(default_rules(), {}, {"turnaround": 0})
    assert codes(rules) == ["target_positive"]
    assert with_settings(default_rules(), {}, {"turnaround": 48})["indicators"]["turnaround"] \
        == {"area": "organisation", "weight": 2, "target_hours": 48}


def test_a_stored_version_without_turnaround_is_completed_at_weight_0():
    stored = default_rules()
    del stored["indicators"]["turnaround"]
    stored["indicators"]["decision_speed"]["weight"] = 6
    assert codes(stored) == ["indicator_missing"]
    filled = completed(stored)
    assert filled["indicators"]["turnaround"] == {"area": "organisation", "weight": 0,
                                                  "target_hours": 120}
    assert policy_problems(filled) == []  # the weights still add up to 100
    assert "turnaround" not in stored["indicators"]  # a copy
    current = default_rules()
    assert completed(current) is current  # nothing to add: the same dict
