"""Budgets, limits and when the PI decides: pure rules."""
from datetime import UTC, date, datetime, timedelta

import pytest

from booking.groups import rules


def test_the_budget_nets_credits_and_counts_open_holds():
    budget = rules.Budget(budget_fen=50_000, charged_fen=20_000, credited_fen=5_000,
                          held_fen=10_000)
    assert budget.spent_fen == 15_000
    assert budget.remaining_fen == 25_000
    assert budget.used_percent == 50
    assert rules.Budget(0).used_percent == 100


@pytest.mark.parametrize("fee, remaining, limit, active, valid, codes", [
    (1_000, 5_000, None, True, True, []),
    (5_000, 5_000, None, True, True, []),  # exactly what is left fits
    (5_001, 5_000, None, True, True, ["over_budget"]),
    (1_000, 5_000, rules.LimitLeft(500, "instrument"), True, True, ["over_limit"]),
    (500, 5_000, rules.LimitLeft(500, "category"), True, True, []),
    (6_000, 5_000, rules.LimitLeft(500, "category"), True, True, ["over_budget", "over_limit"]),
    (1_000, 5_000, None, False, False, ["project_closed", "project_expired"]),
])
def test_charge_problems(fee, remaining, limit, active, valid, codes):
    problems = rules.charge_problems(fee_fen=fee, remaining_fen=remaining, limit=limit,
                                     active=active, valid=valid)
    assert [p.code for p in problems] == codes


@pytest.mark.parametrize("limit, says", [
    (rules.LimitLeft(500, "instrument"), "limit for this instrument: ¥5.00 of it is left"),
    (rules.LimitLeft(-200, "category"), "limit for this instrument category: ¥0.00 of it"),
])
def test_an_over_limit_says_which_limit_and_what_is_left(limit, says):
    problem, = rules.charge_problems(fee_fen=1_000, remaining_fen=5_000, limit=limit,
                                     active=True, valid=True)
    assert says in problem.message


@pytest.mark.parametrize("mode, fee, category, over, expected", [
    ("none", 10_000, "analytical", False, False),
    ("none", 10_000, "analytical", True, True),  # over budget: the PI decides anyway
    ("always", 0, "analytical", False, True),
    ("above_fee", 5_000, "analytical", False, False),
    ("above_fee", 5_001, "analytical", False, True),
    ("categories", 1, "analytical", False, True),
    ("categories", 1, "optical", False, False),
])
def test_when_the_pi_must_approve(mode, fee, category, over, expected):
    assert rules.needs_pi_approval(mode, threshold_fen=5_000, categories=["analytical"],
                                   fee_fen=fee, category=category,
                                   over_budget=over) is expected


def test_validity_is_inclusive():
    assert rules.is_valid_on(date(2026, 1, 1), date(2026, 12, 31), date(2026, 12, 31))
    assert not rules.is_valid_on(date(2026, 1, 1), date(2026, 12, 31), date(2027, 1, 1))


def test_the_pi_is_reminded_half_way_once_before_the_deadline():
    created = datetime(2026, 11, 23, tzinfo=UTC)
    assert not rules.pi_reminder_due(created, False, created + timedelta(hours=23))
    assert rules.pi_reminder_due(created, False, created + timedelta(hours=24))
    assert not rules.pi_reminder_due(created, True, created + timedelta(hours=30))
    assert not rules.pi_reminder_due(created, False, rules.pi_deadline(created))


def test_a_months_money_sums_charges_and_credits_per_project_not_holds():
    entries = [(1, "charge", 60_000), (1, "hold", 9_000), (1, "charge", 25_000),
               (1, "credit", 5_000), (2, "credit", 1_000), (3, "hold", 2_000)]
    assert rules.month_money(entries) == {
        1: rules.MonthMoney(charged_fen=85_000, charges=2, credited_fen=5_000),
        2: rules.MonthMoney(credited_fen=1_000)}
    assert rules.month_money([]) == {}
