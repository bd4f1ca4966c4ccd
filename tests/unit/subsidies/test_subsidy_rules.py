"""Eligibility and voucher amounts, with hand-computed figures. No app, no database."""
import copy
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
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
    class_misses,
    covers_service,
    eligibility,
    narrowed,
    non_local_problems,
    percent,
    policy_warnings,
    provider_reward_fen,
    qualifying_classes,
    sample_size,
    share_after_credits,
    subsidy_for,
)
from tests.moments import SUNDAY_10_MAY as TODAY

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
    assert result[0].message == ("Does not meet the criteria of the declared class (Small or "
                                 "micro enterprise): annual revenue")


def test_large_enterprise_fits_no_class():
    result = eligibility(BIGCO, DLUT, LISTED, "testing", RULES, LEDGER)
    assert codes(result) == ["no_class"]
    assert "small/micro" in result[0].message


def test_every_enterprise_rule_is_reported_at_once():
    bad = Enterprise(**{**SME.__dict__, "verified": False, "region_code": "3101",
                        "bad_credit": True, "kind": "enterprise"})
    problems = eligibility(bad, None, None, None, RULES, LEDGER)
    assert codes(problems) == ["unverified", "outside_region", "bad_credit"]
    # the city in the reader's language (a msgid: 大连 in Chinese), not "大连 Dalian" in both
    assert problems[1].text() == "The enterprise is not registered in the region (Dalian)"


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
    assert result[0].message == "The enterprise and the provider are related (Co-construction)"


def test_links_not_in_the_policy_block_list_are_allowed():
    rules = {**RULES, "services": {**RULES["services"], "related_party_block": ["subordination"]}}
    linked = Ledger(today=TODAY, links=frozenset({"co_construction"}))
    assert isinstance(eligibility(SME, DLUT, LISTED, "testing", rules, linked), Eligible)


def test_non_local_provider_gets_the_reduced_rate():
    # 40% × 0.8 = 32% for an Anshan provider.
    result = eligibility(SME, USTL, LISTED, "testing", RULES, LEDGER)
    assert result.rate == Decimal("0.320")


def test_start_up_team_is_a_team_not_yet_incorporated():
    # A team the bureau verified as not yet a legal person: only the start-up class fits it.
    team = Enterprise(id=5, kind="enterprise", credit_code="T", region_code="2102",
                      legal_person=False)
    assert best_class(team, RULES, TODAY) == "startup_team"
    assert class_misses(team, "small_micro", RULES, TODAY)[-1] == "independent_legal_person"
    # A company with nothing on file is no team: no class (and not "young" either).
    empty = Enterprise(id=6, kind="enterprise", credit_code="E", region_code="2102")
    assert best_class(empty, RULES, TODAY) is None
    assert class_misses(empty, "startup_team", RULES, TODAY) == ["not_incorporated"]


def test_a_large_enterprise_fits_no_class_whatever_its_founding_date():
    # BIGCO (6,800 staff) with a missing or a future founding date is no start-up: the dates
    # never make a firm young, and it is a legal person.
    for founded in (None, TODAY + timedelta(days=30)):
        firm = replace(BIGCO, founded_on=founded)
        assert qualifying_classes(firm, RULES, TODAY) == []


def test_an_age_limit_needs_a_real_founding_date():
    # A policy with a "young firm" class (max_age_days = 365): founded 364 days ago is young,
    # 366 days ago is not, a future or missing date never is.
    rules = copy.deepcopy(RULES)
    rules["classes"]["small_micro"]["max_age_days"] = 365
    young = replace(SMALL, founded_on=TODAY - timedelta(days=364))
    assert "max_age_days" not in class_misses(young, "small_micro", rules, TODAY)
    for founded in (TODAY - timedelta(days=366), TODAY + timedelta(days=1), None):
        firm = replace(SMALL, founded_on=founded)
        assert "max_age_days" in class_misses(firm, "small_micro", rules, TODAY)


def test_small_and_micro_means_revenue_under_10_million():
    """The written rule is "revenue < 10 M CNY" (Beijing, Changping); limits are "at most"."""
    at_limit = replace(SMALL, annual_revenue_fen=1_000_000_000)
    assert "max_revenue_fen" in class_misses(at_limit, "small_micro", RULES, TODAY)
    just_under = replace(SMALL, annual_revenue_fen=999_999_999)
    assert class_misses(just_under, "small_micro", RULES, TODAY) == []


def test_a_declaration_narrows_the_profile_never_widens_it():
    # Profile: 80 staff, revenue 8 M CNY, founded 2019-05-16. Declared: 60 staff (smaller:
    # ignored), revenue 12 M CNY (larger: counts), founded 2021 (later: ignored).
    profile = replace(SMALL, staff_count=80, annual_revenue_fen=800_000_000,
                      founded_on=date(2019, 5, 16))
    facts = narrowed(profile, {"staff_count": 60, "annual_revenue_fen": 1_200_000_000,
                               "founded_on": date(2021, 1, 1)})
    assert (facts.staff_count, facts.annual_revenue_fen, facts.founded_on) == (
        80, 1_200_000_000, date(2019, 5, 16))
    assert "max_revenue_fen" in class_misses(facts, "small_micro", RULES, TODAY)
    # a figure missing from the verified profile stays missing, whatever is declared
    unknown = narrowed(replace(profile, staff_count=None), {"staff_count": 10})
    assert unknown.staff_count is None
    assert "max_staff" in class_misses(unknown, "small_micro", RULES, TODAY)


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
    # 5% of a year's net turnover of 1,000,000 CNY = 50,000 CNY (5,000,000 fen)
    assert provider_reward_fen(100_000_000, RULES, 0) == 5_000_000
    # net 12,000,000 CNY: 5% = 600,000 CNY, over the cap of 500,000 CNY; 480,000 CNY already on
    # earlier statements -> this one carries 20,000 CNY; at the cap, nothing more
    assert provider_reward_fen(1_200_000_000, RULES, 48_000_000) == 2_000_000
    assert provider_reward_fen(1_200_000_000, RULES, 50_000_000) == 0


def test_the_reward_follows_net_turnover_and_is_clawed_back():
    # Q1: net 10,000 CNY -> reward 5% = 500 CNY (50,000 fen), paid with the Q1 statement.
    assert provider_reward_fen(1_000_000, RULES, 0) == 50_000
    # Q2: a refund reverses 4,000 CNY (net -4,000): the year's net is 6,000 CNY, whose reward
    # is 300 CNY; 500 CNY were paid, so the Q2 statement carries -200 CNY (a claw-back).
    assert provider_reward_fen(1_000_000 - 400_000, RULES, 50_000) == -20_000
    # A year whose net went negative (-2,000 CNY): the reward is 0, so the claw-back is what
    # was paid (-500 CNY), never more.
    assert provider_reward_fen(1_000_000 - 1_200_000, RULES, 50_000) == -50_000


def test_sample_size_rounds_up():
    assert sample_size(0, Decimal("0.05")) == 0
    assert sample_size(10, Decimal("0.05")) == 1
    assert sample_size(41, Decimal("0.05")) == 3
    assert sample_size(3, Decimal("1")) == 3


def test_percent():
    assert percent(Decimal("0.4000")) == "40"
    assert percent(Decimal("0.325")) == "32.5"


@pytest.mark.parametrize("credited, expected", [
    (0, 16_000),        # nothing given back: the whole share
    (6_000, 12_000),    # a quarter of the 240 CNY paid back: the fee charged is 300 of 400
                        # CNY, so the share is 40% of 300 = 120 CNY (16,000 x 18,000 / 24,000)
    (24_000, 0),        # a full refund frees all of it
    (30_000, 0),        # never below nothing
])
def test_a_credit_note_shrinks_the_share_in_proportion(credited, expected):
    # 1 h at 400 CNY, 40% voucher: share 160 CNY, the customer was charged 240 CNY
    assert share_after_credits(16_000, 24_000, credited) == expected


def test_the_shrunk_share_rounds_half_up():
    # 12,800 x (27,200 - 1,000) / 27,200 = 12,329.41 -> 12,329; with 8,500 back: 8,800.0
    assert share_after_credits(12_800, 27_200, 1_000) == 12_329
    assert share_after_credits(12_800, 27_200, 8_500) == 8_800


def test_a_voucher_covers_service_done_while_it_held():
    issued, lapses = datetime(2026, 3, 2, 1, tzinfo=UTC), datetime(2026, 12, 31, 16, tzinfo=UTC)
    december = datetime(2026, 12, 31, 6, tzinfo=UTC)  # 14:00 on 31 December, Beijing time
    assert covers_service(issued, lapses, december, minutes=120)
    assert covers_service(issued, lapses, issued)  # begun the moment it was issued
    assert not covers_service(issued, lapses, issued - timedelta(minutes=1))  # before approval
    assert not covers_service(issued, lapses, december, minutes=10 * 60 + 1)  # ends in January
    assert covers_service(issued, lapses, None)  # no service time: the state decides


def test_the_default_policy_has_nothing_to_warn_of():
    assert policy_warnings(load_default_rules(2026)) == []


def test_settings_that_pay_nothing_or_exceed_the_published_schemes_are_warned_of():
    """Reported: the policy form took a ¥0 cap per invoice and a 100 % provider reward without
    a word. They stay allowed (a bureau may suspend a class), but are said before publishing."""
    rules = load_default_rules(2026)
    rules["caps"]["per_application_fen"] = 0
    rules["budget"]["annual_pool_fen"] = 0
    rules["classes"]["startup_team"]["cap_per_year_fen"] = 0
    rules["classes"]["small_micro"]["rate"] = "0.75"
    rules["provider_reward"]["rate_of_voucher_turnover"] = "1"
    rules["services"]["non_local_provider_factor"] = "0"
    rules["oversight"]["sample_rate"] = "0"
    warnings = policy_warnings(rules)
    assert [w.code for w in warnings] == [
        "pool_zero", "per_invoice_zero", "class_rate_high", "class_pays_nothing",
        "reward_rate_high", "non_local_zero", "no_sampling"]
    messages = [w.message for w in warnings]
    assert "Small or micro enterprise: a rate of 75 % is above the 50 % the published schemes " \
        "pay at most." in messages
    assert "Start-up team: vouchers pay this class nothing (rate 50 %, cap per year ¥0.00)." \
        in messages
    assert "The provider reward, 100 % of voucher turnover, is above the 5 % the published " \
        "schemes allow." in messages
    assert "No redemption is sampled for re-check (share 0 %)." in messages
    rules["provider_reward"].update(rate_of_voucher_turnover="0.05",
                                    cap_per_provider_per_year_fen=0)
    assert "reward_cap_zero" in [w.code for w in policy_warnings(rules)]
    rules["provider_reward"]["rate_of_voucher_turnover"] = "0"  # no reward at all: nothing to say
    assert "reward_cap_zero" not in [w.code for w in policy_warnings(rules)]
