"""Eligibility and voucher amounts, with hand-computed figures. No app, no database."""
from datetime import date
from decimal import Decimal

import pytest

from booking.subsidies.policy import load_default_rules
from booking.subsidies.rules import (
    Eligible,
    Enterprise,
    InstrumentFacts,
    Ledger,
    Provider,
    approval_problems,
    best_class,
    budget_allowance_fen,
    eligibility,
    non_local_problems,
    percent,
    provider_reward_fen,
    sample_size,
    subsidy_for,
)

TODAY = date(2026, 5, 10)
RULES = load_default_rules(2026)

# 大连海创: 46 staff, revenue 18.5 M, assets 24 M, registered 10 M, certified science-based SME.
SME = Enterprise(id=1, kind="enterprise", credit_code="91210213MA0Y4K7N2X", region_code="210213",
                 sme_certified=True, founded_on=date(2019, 5, 16), staff_count=46,
                 annual_revenue_fen=1_850_000_000, total_assets_fen=2_400_000_000,
                 registered_capital_fen=1_000_000_000, actual_controller="王海")
SMALL = Enterprise(id=2, kind="enterprise", credit_code="91210200MA0000001A", region_code="2102",
                   founded_on=date(2023, 1, 1), staff_count=12, annual_revenue_fen=300_000_000,
                   total_assets_fen=200_000_000, registered_capital_fen=100_000_000)
BIGCO = Enterprise(id=3, kind="enterprise", credit_code="91210200241287654X", region_code="2102",
                   founded_on=date(1995, 8, 1), staff_count=6800,
                   annual_revenue_fen=1_200_000_000_000, total_assets_fen=3_500_000_000_000,
                   registered_capital_fen=200_000_000_000)
DLUT = Provider(id=10, kind="university", credit_code="12210000400004437X", region_code="2102")
USTL = Provider(id=11, kind="university", credit_code="12210000464342567X", region_code="2103")
LISTED = InstrumentFacts(is_listed=True)
LEDGER = Ledger(today=TODAY)


def codes(result):
    assert isinstance(result, list), result
    return [p.code for p in result]


def test_science_based_sme_with_a_local_university():
    result = eligibility(SME, DLUT, LISTED, "testing", RULES, LEDGER)
    assert result == Eligible("sme_science_based", Decimal("0.40"), 20_000_000, 20_000_000,
                              2_000_000)


def test_best_class_prefers_the_higher_yearly_cap():
    # The small firm meets small/micro (50%, 100k) and would meet science-based SME only
    # when certified (40%, 200k): the bigger yearly cap wins.
    assert best_class(SMALL, RULES, TODAY) == "small_micro"
    certified = Enterprise(**{**SMALL.__dict__, "sme_certified": True})
    assert best_class(certified, RULES, TODAY) == "sme_science_based"


def test_declared_class_is_checked_against_its_criteria():
    result = eligibility(SME, None, None, None, RULES, LEDGER, declared_class="small_micro")
    problems = codes(result)
    assert problems == ["class_criteria"]
    assert "annual revenue" in result[0].en and "年销售收入" in result[0].zh


def test_large_enterprise_fits_no_class():
    result = eligibility(BIGCO, DLUT, LISTED, "testing", RULES, LEDGER)
    assert codes(result) == ["no_class"]
    assert "small/micro" in result[0].en


def test_every_enterprise_rule_is_reported_at_once():
    bad = Enterprise(**{**SME.__dict__, "verified": False, "region_code": "3101",
                        "bad_credit": True, "kind": "enterprise"})
    assert codes(eligibility(bad, None, None, None, RULES, LEDGER)) == [
        "unverified", "outside_region", "bad_credit"]


def test_a_project_already_funded_by_the_city_is_excluded():
    funded = Enterprise(**{**SME.__dict__, "project_already_funded": True})
    assert codes(eligibility(funded, None, None, None, RULES, LEDGER)) == ["project_already_funded"]
    lenient = {**RULES, "eligibility": {**RULES["eligibility"],
                                        "exclude_if_project_already_funded": False}}
    assert not isinstance(eligibility(funded, None, None, None, lenient, LEDGER), list)


def test_non_local_enterprises_share_at_most_a_fifth_of_the_pool():
    cap = RULES["budget"]["annual_pool_fen"] // 5  # non_local_share_cap = 0.20
    assert non_local_problems(1_000_000, cap - 1_000_000, RULES) == []
    assert [p.code for p in non_local_problems(1_000_001, cap - 1_000_000, RULES)] == [
        "non_local_share"]


def test_remaining_cap_counts_the_controller_group():
    ledger = Ledger(today=TODAY, group_committed_fen=15_000_000)
    result = eligibility(SME, None, None, None, RULES, ledger)
    assert result.cap_remaining_fen == 5_000_000
    full = eligibility(SME, None, None, None, RULES, Ledger(today=TODAY, group_committed_fen=25_000_000))
    assert full.cap_remaining_fen == 0


@pytest.mark.parametrize("provider, instrument, service, expected", [
    (Provider(id=12, kind="enterprise", credit_code="X", region_code="2102"), LISTED, "testing",
     ["provider_kind"]),
    (Provider(id=12, kind="institute", credit_code="X", region_code="2102", listed=False), LISTED,
     "testing", ["provider_unlisted"]),
    (DLUT, InstrumentFacts(is_listed=False), "testing", ["instrument_not_public"]),
    (DLUT, InstrumentFacts(is_listed=True, has_rates=False), "testing", ["no_published_rates"]),
    (DLUT, LISTED, "statutory_testing", ["service_excluded"]),
    (DLUT, LISTED, "medical", ["service_excluded"]),
])
def test_provider_instrument_and_service_rules(provider, instrument, service, expected):
    assert codes(eligibility(SME, provider, instrument, service, RULES, LEDGER)) == expected


def test_related_parties_are_refused():
    same = Provider(id=13, kind="institute", credit_code=SME.credit_code, region_code="2102")
    assert codes(eligibility(SME, same, LISTED, "testing", RULES, LEDGER)) == [
        "related_same_legal_person"]
    controlled = Provider(id=14, kind="institute", credit_code="Y", region_code="2102",
                          actual_controller="王海")
    assert codes(eligibility(SME, controlled, LISTED, "testing", RULES, LEDGER)) == [
        "related_same_legal_person"]
    linked = Ledger(today=TODAY, links=frozenset({"co_construction", "equity_link"}))
    result = eligibility(SME, DLUT, LISTED, "testing", RULES, linked)
    assert codes(result) == ["related_co_construction", "related_equity_link"]
    assert result[0].zh == "企业与服务机构存在共建关系"


def test_links_not_in_the_policy_block_list_are_allowed():
    rules = {**RULES, "services": {**RULES["services"], "related_party_block": ["subordination"]}}
    linked = Ledger(today=TODAY, links=frozenset({"co_construction"}))
    assert isinstance(eligibility(SME, DLUT, LISTED, "testing", rules, linked), Eligible)


def test_non_local_provider_gets_the_reduced_rate():
    # 40% × 0.8 = 32% for an Anshan provider.
    result = eligibility(SME, USTL, LISTED, "testing", RULES, LEDGER)
    assert result.rate == Decimal("0.320")


def test_start_up_team_without_company():
    team = Enterprise(id=5, kind="enterprise", credit_code="T", region_code="2102")
    assert best_class(team, RULES, TODAY) == "startup_team"


@pytest.mark.parametrize("invoice, remaining, rate, year_left, expected", [
    (100_000, 5_000_000, Decimal("0.40"), None, 40_000),        # 1,000 × 40% = 400 CNY
    (12_345, 5_000_000, Decimal("0.40"), None, 4_938),          # 4,938.0 fen
    (12_347, 5_000_000, Decimal("0.32"), None, 3_951),          # 3,951.04 → 3,951 (half-up)
    (12_345, 5_000_000, Decimal("0.50"), None, 6_173),          # 6,172.5 → 6,173 (half-up)
    (10_000_000, 5_000_000, Decimal("0.40"), None, 2_000_000),  # per-application cap 20,000 CNY
    (1_000_000, 150_000, Decimal("0.40"), None, 150_000),       # voucher remaining
    (1_000_000, 5_000_000, Decimal("0.40"), 70_000, 70_000),    # yearly cap left
    (0, 5_000_000, Decimal("0.40"), None, 0),
    (1_000_000, 0, Decimal("0.40"), None, 0),
])
def test_subsidy_for(invoice, remaining, rate, year_left, expected):
    assert subsidy_for(invoice, remaining, rate, RULES, year_left) == expected


def test_budget_allowance_rolls_unused_batches_forward():
    # 10,000,000 CNY pool, four 25% batches: by Q2 half the pool may be committed.
    assert budget_allowance_fen(RULES, 1) == 250_000_000
    assert budget_allowance_fen(RULES, 2) == 500_000_000
    assert budget_allowance_fen(RULES, 4) == 1_000_000_000


def test_approval_problems():
    assert approval_problems(100, 1_000, 900, 100) == []
    assert [p.code for p in approval_problems(101, 1_000, 900, 100)] == [
        "year_cap", "budget_exhausted"]
    assert [p.code for p in approval_problems(0, 1_000, 0, 100)] == ["amount"]


def test_provider_reward_is_capped_per_year():
    # 5% of 1,000,000 CNY turnover = 50,000 CNY; the cap is 500,000 CNY per year.
    assert provider_reward_fen(100_000_000, RULES, 0) == 5_000_000
    assert provider_reward_fen(100_000_000, RULES, 48_000_000) == 2_000_000
    assert provider_reward_fen(100_000_000, RULES, 50_000_000) == 0


def test_sample_size_rounds_up():
    assert sample_size(0, Decimal("0.05")) == 0
    assert sample_size(10, Decimal("0.05")) == 1
    assert sample_size(41, Decimal("0.05")) == 3
    assert sample_size(3, Decimal("1")) == 3


def test_percent():
    assert percent(Decimal("0.4000")) == "40"
    assert percent(Decimal("0.325")) == "32.5"
