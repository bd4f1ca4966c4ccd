"""The voucher policy as data: the default file, validation, diffs. No app, no database."""
import copy
from decimal import Decimal

import pytest

from booking.subsidies.policy import (
    class_rule,
    diff_rules,
    load_default_rules,
    quarterly_batches,
    validate_rules,
)


@pytest.fixture
def rules():
    return load_default_rules(2026)


def test_default_file_is_valid_and_has_no_floats(rules):
    assert validate_rules(rules) == []
    assert rules["year"] == 2026 and rules["region_code"] == "2102"
    assert rules["classes"]["sme_science_based"]["rate"] == "0.40"
    assert quarterly_batches(rules) == [Decimal("0.25")] * 4
    assert class_rule(rules, "small_micro").rate == Decimal("0.50")
    assert class_rule(rules, "small_micro").cap_per_year_fen == 10_000_000


def test_default_rules_follow_the_year_asked_for():
    assert load_default_rules(2027)["year"] == 2027


@pytest.mark.parametrize("path, value, fragment", [
    (("classes", "small_micro", "rate"), "1.5", "classes.small_micro.rate must be a number between 0 and 1"),
    (("classes", "small_micro", "rate"), "abc", "classes.small_micro.rate"),
    (("classes", "sme_science_based", "cap_per_year_fen"), -1, "cap_per_year_fen must be a whole number"),
    (("caps", "per_application_fen"), "100", "caps.per_application_fen"),
    (("budget", "quarterly_batches"), ["0.25", "0.25", "0.25", "0.20"], "must sum to 1 (they sum to 0.95)"),
    (("budget", "quarterly_batches"), ["0.5", "0.5"], "four shares"),
    (("services", "non_local_provider_factor"), "-0.1", "non_local_provider_factor"),
    (("services", "provider_kinds"), ["university", "hospital"], "unknown entries: hospital"),
    (("services", "excluded"), ["gambling"], "services.excluded has unknown entries"),
    (("services", "related_party_block"), ["cousins"], "related_party_block"),
    (("validity",), "forever", "validity must be one of"),
])
def test_validation_names_each_problem(rules, path, value, fragment):
    target = rules
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    problems = validate_rules(rules)
    assert any(fragment in p for p in problems), problems


def test_unknown_class_is_refused(rules):
    rules["classes"]["unicorn"] = {"rate": "0.9", "cap_per_year_fen": 1}
    assert validate_rules(rules) == [
        "classes.unicorn is not a known enterprise class "
        "(small_micro, sme_science_based, startup_team)"]


def test_every_problem_is_reported_at_once(rules):
    rules["classes"]["small_micro"]["rate"] = "2"
    rules["budget"]["annual_pool_fen"] = -5
    rules["services"]["provider_kinds"] = []
    assert len(validate_rules(rules)) == 3


def test_malformed_rules_give_a_problem_not_an_exception(rules):
    rules["classes"] = ["not", "a", "table"]
    assert validate_rules(rules)[0].startswith("the policy is malformed")


def test_diff_lists_changed_settings_and_ignores_equal_numbers(rules):
    new = copy.deepcopy(rules)
    new["classes"]["small_micro"]["rate"] = "0.5"  # same number as "0.50"
    new["classes"]["sme_science_based"]["rate"] = "0.45"
    new["caps"]["per_application_fen"] = 3_000_000
    assert diff_rules(rules, new) == [
        ("caps.per_application_fen", 2_000_000, 3_000_000),
        ("classes.sme_science_based.rate", "0.40", "0.45"),
    ]
    assert diff_rules(rules, rules) == []
