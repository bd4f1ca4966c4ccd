"""The ranking policy as data: indicators, weights, targets, grade bands, rewards.

A policy is a plain dict (the [ranking] table of default_policy.toml). Versions are stored in
RankingPolicy rows; published versions never change. `policy_problems` checks a dict and
returns every problem it finds (English msgids with %(name)s parameters, translated where shown).
Pure: no Flask, no database.
"""
import copy
import tomllib
from pathlib import Path

from booking.core.problems import Problem, _l

INDICATORS = ("open_rate", "directory_quality", "decision_speed", "turnaround", "effective_hours",
              "idle_rate", "outcomes", "external_share", "sme_reach", "user_rating",
              "external_income")
# Added after policy versions were first stored: a stored version without one of these scores
# it with weight 0 (area and target from the defaults), see `completed`.
LATER_INDICATORS = ("turnaround",)
AREAS = ("organisation", "operation", "sharing")
GRADES = ("excellent", "good", "pass", "poor")
RED_FLAGS = ("no_listed_instruments", "false_data")
LOWER_IS_BETTER = frozenset({"idle_rate"})
HOURS_INDICATORS = frozenset({"decision_speed", "turnaround"})  # medians in hours, target_hours
# the most a value can be: shares reach 1, a rating 5 stars
TARGET_CEILINGS = {"open_rate": 1, "directory_quality": 1, "external_share": 1,
                   "user_rating": 5}
DEFAULT_PATH = Path(__file__).with_name("default_policy.toml")


def default_rules() -> dict:
    with DEFAULT_PATH.open("rb") as handle:
        return tomllib.load(handle)["ranking"]


# What a person reads for each indicator, translated where shown (rankings.forms makes the
# pages' lazy labels of them).
INDICATOR_NAMES = {
    "open_rate": _l("Open rate"),
    "directory_quality": _l("Directory quality"),
    "decision_speed": _l("Decision speed"),
    "turnaround": _l("Test turnaround"),
    "effective_hours": _l("Effective hours"),
    "idle_rate": _l("Idle instruments"),
    "outcomes": _l("Voucher-backed services"),
    "external_share": _l("External share"),
    "sme_reach": _l("SME reach"),
    "user_rating": _l("User rating"),
    "external_income": _l("External income"),
}


def target_key(indicator: str) -> str:
    return "target_hours" if indicator in HOURS_INDICATORS else "target"


def completed(rules: dict) -> dict:
    """`rules` as stored, with every indicator added since it was stored at weight 0 (a copy
    when one is added). Weights still add up to the same, so a valid version stays valid."""
    indicators = rules.get("indicators") or {}
    missing = [name for name in LATER_INDICATORS if name not in indicators]
    if not missing:
        return rules
    changed, defaults = copy.deepcopy(rules), default_rules()["indicators"]
    for name in missing:
        changed.setdefault("indicators", {})[name] = {**defaults[name], "weight": 0}
    return changed


def with_settings(rules: dict, weights: dict[str, int], targets: dict[str, float]) -> dict:
    """A copy of `rules` with new weights and targets (a draft to validate and store)."""
    changed = copy.deepcopy(rules)
    for name, spec in changed["indicators"].items():
        spec["weight"] = weights.get(name, spec["weight"])
        key = target_key(name)
        spec[key] = targets.get(name, spec[key])
    return changed


def policy_problems(rules: dict) -> list[Problem]:
    return (_indicator_problems(rules.get("indicators") or {}) + _grade_problems(rules)
            + _reward_problems(rules) + _scope_problems(rules))


def _indicator_problems(indicators: dict) -> list[Problem]:
    problems = []
    missing = [name for name in INDICATORS if name not in indicators]
    if missing:
        problems.append(Problem("indicator_missing", _l("Indicators missing: %(names)s."),
                                {"names": ", ".join(missing)}))
    for name, spec in indicators.items():
        problems += _one_indicator_problems(name, spec)
    total = sum(_number(spec.get("weight")) or 0 for spec in indicators.values())
    if total != 100:
        problems.append(Problem("weights_sum", _l("The weights add up to %(total)s, not 100."),
                                {"total": _plain(total)}))
    return problems


def _one_indicator_problems(name: str, spec: dict) -> list[Problem]:
    if name not in INDICATORS:
        return [Problem("indicator_unknown", _l("Unknown indicator %(name)s."), {"name": name})]
    problems = []
    weight = _number(spec.get("weight"))
    label = {"name": INDICATOR_NAMES[name]}  # read in words, not the stored code
    if weight is None or weight < 0:
        problems.append(Problem("weight_negative", _l(
            "The weight of %(name)s must be a number of 0 or more."), label))
    target = _number(spec.get(target_key(name)))
    if name in LOWER_IS_BETTER:
        if target is None or not 0 <= target < 1:
            problems.append(Problem("target_range", _l(
                "The target of %(name)s must be at least 0 and below 1."), label))
    elif target is None or target <= 0:
        problems.append(Problem("target_positive", _l(
            "The target of %(name)s must be greater than 0."), label))
    elif target > TARGET_CEILINGS.get(name, target):
        problems.append(Problem("target_too_high", _l(
            "The target of %(name)s cannot be above %(most)s: no institution could reach it."),
            {**label, "most": _plain(TARGET_CEILINGS[name])}))
    if spec.get("area") not in AREAS:
        problems.append(Problem("area_unknown", _l("%(name)s belongs to no known area."),
                                label))
    return problems


def _grade_problems(rules: dict) -> list[Problem]:
    grades = rules.get("grades") or {}
    scores = [_number(grades.get(key)) for key in
              ("pass_min_score", "good_min_score", "excellent_min_score")]
    problems = []
    if None in scores or not 0 <= scores[0] <= scores[1] <= scores[2] <= 100:
        problems.append(Problem("grade_scores", _l(
            "Grade thresholds must rise from pass to good to excellent, within 0 to 100.")))
    for key in ("excellent_max_share", "good_max_share"):
        share = _number(grades.get(key))
        if share is None or not 0 <= share <= 1:
            problems.append(Problem("grade_share", _l("%(key)s must be between 0 and 1."),
                                    {"key": key}))
    if grades.get("tie_break") not in AREAS:
        problems.append(Problem("tie_break", _l("Ties must be broken by one of the areas.")))
    unknown = set(grades.get("red_flags") or ()) - set(RED_FLAGS)
    if unknown:
        problems.append(Problem("red_flag_unknown", _l("Unknown red flags: %(names)s."),
                                {"names": ", ".join(sorted(unknown))}))
    return problems


WITHIN_GRADE = ("score", "equal")


def _reward_problems(rules: dict) -> list[Problem]:
    rewards = rules.get("rewards") or {}
    problems = []
    eligible = rewards.get("eligible_grades") or []
    weights = rewards.get("grade_weight") or {}
    for grade in eligible:
        weight = _number(weights.get(grade))
        if grade not in GRADES or weight is None or weight <= 0:
            problems.append(Problem("reward_grade", _l(
                "Reward grade %(grade)s needs a known grade and a weight above 0."),
                {"grade": grade}))
    if rewards.get("within_grade", "score") not in WITHIN_GRADE:
        problems.append(Problem("within_grade", _l(
            "Within a grade, rewards are split by score or equally.")))
    cap = _number(rewards.get("max_share_per_institution"))
    if cap is None or not 0 < cap <= 1:
        problems.append(Problem("reward_cap", _l(
            "The cap per institution must be above 0 and at most 1.")))
    return problems


def _scope_problems(rules: dict) -> list[Problem]:
    problems = []
    threshold = _number(rules.get("min_original_value_fen"))
    if threshold is None or threshold < 0:
        problems.append(Problem("threshold", _l(
            "The large-instrument threshold must be 0 or more.")))
    for key in ("rated_hours_general", "rated_hours_special"):
        hours = _number(rules.get(key))
        if hours is None or hours <= 0:
            problems.append(Problem("rated_hours", _l("%(key)s must be greater than 0."),
                                    {"key": key}))
    return problems


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def _plain(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else f"{number:g}"
