"""Voucher eligibility and amounts as pure functions on plain values (no Flask, no database).

`eligibility` returns either `Eligible` (class, rate, remaining caps) or every rule that fails,
each a Problem with a code and an English msgid (translated where it is shown). `subsidy_for`
is the fen amount a voucher pays on one invoice.
"""
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, Decimal

from booking.accounts.rules import LIAONING_CITIES
from booking.core.clock import year_end_utc
from booking.core.money import divide_half_up, format_cny, percent, round_fen
from booking.core.problems import Problem, _l
from booking.subsidies.policy import class_rule, class_rules, decimal_at, quarterly_batches

# The voucher's state table: approval issues it, a redemption that uses the rest exhausts it
# (a reversal gives value back), its year's end expires it, and an application still
# undecided then lapses (expired).
VOUCHER_TRANSITIONS = {"applied": {"issued", "rejected", "expired"},
                       "issued": {"exhausted", "expired"}, "exhausted": {"issued"},
                       "expired": set(), "rejected": set()}


def voucher_state_at(state: str, valid_until: datetime | None, year: int, now: datetime
                     ) -> str:
    """A voucher's state as of `now`: an issued voucher past its validity, or an application
    still undecided when its year ended, is expired whether or not the daily expiry job has
    written it yet."""
    if (state == "issued" and valid_until is not None and valid_until <= now) or \
            (state == "applied" and now >= year_end_utc(year)):
        return "expired"
    return state


def covers_service(issued_at: datetime | None, valid_until: datetime | None,
                   service_at: datetime | None, minutes: int = 0) -> bool:
    """Whether a voucher pays for a service: one begun once the voucher was issued (it is
    approved before the service is used) and ended before it lapsed, whenever it is invoiced
    (December's use, invoiced at the month close on 1 January, is December's). A line with no
    service time is judged by the voucher's state alone."""
    if service_at is None:
        return True
    return (issued_at is None or service_at >= issued_at) and \
        (valid_until is None or service_at + timedelta(minutes=minutes) <= valid_until)


@dataclass(frozen=True)
class Enterprise:
    id: int
    kind: str
    credit_code: str
    region_code: str
    verified: bool = True
    bad_credit: bool = False
    sme_certified: bool = False
    legal_person: bool = True  # False: a start-up team, not incorporated yet
    founded_on: date | None = None
    staff_count: int | None = None
    annual_revenue_fen: int | None = None
    total_assets_fen: int | None = None
    registered_capital_fen: int | None = None
    actual_controller: str | None = None
    project_already_funded: bool = False  # declared in the application


@dataclass(frozen=True)
class Provider:
    id: int
    kind: str
    credit_code: str
    region_code: str
    listed: bool = True
    actual_controller: str | None = None


@dataclass(frozen=True)
class InstrumentFacts:
    is_listed: bool
    has_rates: bool = True


@dataclass(frozen=True)
class Ledger:
    """What has already happened this year, as the eligibility rules need it."""

    today: date
    group_committed_fen: int = 0   # face value approved this year for the controller's group
    links: frozenset = frozenset()  # declared link kinds between the enterprise and provider


@dataclass(frozen=True)
class Eligible:
    enterprise_class: str
    rate: Decimal
    cap_per_year_fen: int
    cap_remaining_fen: int
    per_application_fen: int


# --- enterprise ------------------------------------------------------------------------------
SIZE_FIGURES = ("staff_count", "annual_revenue_fen", "total_assets_fen", "registered_capital_fen")


def narrowed(profile: Enterprise, declared: dict) -> Enterprise:
    """The facts an application is judged on: the verified profile, which a declaration may
    narrow but never widen (DESIGN §6). A declared size figure counts only where it is larger
    than the profile's, a declared founding date only where it is earlier; a figure the
    profile lacks stays unknown (and fails any limit), whatever is declared."""
    figures = {name: max(getattr(profile, name), declared[name])
               for name in SIZE_FIGURES
               if declared.get(name) is not None and getattr(profile, name) is not None}
    founded = declared.get("founded_on")
    if founded is not None and profile.founded_on is not None:
        figures["founded_on"] = min(profile.founded_on, founded)
    return replace(profile, **figures, project_already_funded=profile.project_already_funded or
                   bool(declared.get("project_already_funded")))


def _is_young(founded_on: date | None, today: date, max_age_days: int) -> bool:
    """A missing or future founding date never makes a firm young."""
    return founded_on is not None and founded_on <= today and \
        (today - founded_on).days <= max_age_days


def class_misses(enterprise: Enterprise, code: str, rules: dict, today: date) -> list[str]:
    """The criteria of class `code` the enterprise does not meet (empty: it qualifies)."""
    rule = class_rule(rules, code)
    if rule is None:
        return ["class"]
    figures = {"max_staff": enterprise.staff_count,
               "max_revenue_fen": enterprise.annual_revenue_fen,
               "max_assets_fen": enterprise.total_assets_fen,
               "max_registered_capital_fen": enterprise.registered_capital_fen}
    misses = [key for key, limit in rule.limits.items()
              if key in figures and (figures[key] is None or figures[key] > limit)]
    if "max_age_days" in rule.limits and not _is_young(enterprise.founded_on, today,
                                                       rule.limits["max_age_days"]):
        misses.append("max_age_days")
    if code == "sme_science_based" and not enterprise.sme_certified:
        misses.append("sme_certified")
    if rule.limits.get("not_incorporated"):
        if enterprise.legal_person:
            misses.append("not_incorporated")
    elif rules["eligibility"].get("independent_legal_person") and not enterprise.legal_person:
        misses.append("independent_legal_person")
    return misses


def qualifying_classes(enterprise: Enterprise, rules: dict, today: date) -> list[str]:
    return [r.code for r in class_rules(rules) if not class_misses(enterprise, r.code, rules, today)]


def best_class(enterprise: Enterprise, rules: dict, today: date) -> str | None:
    """The qualifying class with the highest yearly cap (then rate), if any."""
    candidates = [class_rule(rules, c) for c in qualifying_classes(enterprise, rules, today)]
    best = max(candidates, key=lambda r: (r.cap_per_year_fen, r.rate), default=None)
    return best.code if best else None


_CRITERIA = {"max_staff": _l("staff count"), "max_revenue_fen": _l("annual revenue"),
             "max_assets_fen": _l("total assets"),
             "max_registered_capital_fen": _l("registered capital"),
             "max_age_days": _l("founding date"),
             "sme_certified": _l("science-based SME registration"),
             "not_incorporated": _l("a team not yet incorporated"),
             "independent_legal_person": _l("independent legal person"),
             "class": _l("enterprise class")}

CLASS_NAMES = {"small_micro": _l("Small or micro enterprise"),
               "sme_science_based": _l("Science-based SME"),
               "startup_team": _l("Start-up team")}

LINK_NAMES = {"same_legal_person": _l("Same legal person or actual controller"),
              "subordination": _l("Subordination"), "co_construction": _l("Co-construction"),
              "equity_link": _l("Equity link")}


def _class_problem(code: str, misses: list[str]) -> Problem:
    return Problem("class_criteria",
                   _l("Does not meet the criteria of the declared class (%(name)s): "
                      "%(criteria)s"),
                   {"name": CLASS_NAMES.get(code, code),
                    "criteria": tuple(_CRITERIA[m] for m in misses)})


_REGION_NAMES = {region: english for region, english in LIAONING_CITIES.values()}


def region_name(code: str) -> str:
    """A Liaoning city's division code as the reader names it (大连, Dalian: a msgid), else
    the code."""
    return _REGION_NAMES.get(code, code)


def enterprise_problems(enterprise: Enterprise, declared_class: str | None, rules: dict,
                        ledger: Ledger) -> list[Problem]:
    problems = []
    if enterprise.kind != "enterprise":
        problems.append(Problem("not_enterprise", _l("Only enterprises can hold innovation vouchers")))
    if not enterprise.verified:
        problems.append(Problem("unverified", _l("The enterprise has not been verified by the bureau")))
    region = rules.get("region_code", "")
    if rules["eligibility"].get("registered_in_region") and not (
            enterprise.region_code or "").startswith(region):
        problems.append(Problem("outside_region", _l(
            "The enterprise is not registered in the region (%(region)s)"),
            {"region": region_name(region)}))
    if rules["eligibility"].get("no_bad_credit") and enterprise.bad_credit:
        problems.append(Problem("bad_credit", _l("The enterprise has a bad-credit record")))
    if rules["eligibility"].get("exclude_if_project_already_funded") and \
            enterprise.project_already_funded:
        problems.append(Problem("project_already_funded", _l(
            "The project already received city science and technology funding")))
    code = declared_class or best_class(enterprise, rules, ledger.today)
    if code is None:
        problems.append(Problem("no_class", _l(
            "The enterprise fits no eligible class (small/micro, science-based SME, start-up "
            "team)")))
    else:
        misses = class_misses(enterprise, code, rules, ledger.today)
        if misses:
            problems.append(_class_problem(code, misses))
    return problems


# --- provider, instrument, service -----------------------------------------------------------
def _related_problems(enterprise: Enterprise, provider: Provider, block: list,
                      ledger: Ledger) -> list[Problem]:
    problems = []
    if "same_legal_person" in block and (
            enterprise.credit_code == provider.credit_code or (
                enterprise.actual_controller and
                enterprise.actual_controller == provider.actual_controller)):
        problems.append(Problem("related_same_legal_person", _l(
            "The enterprise and the provider are the same legal person or share an actual "
            "controller")))
    for kind in sorted(ledger.links & set(block)):
        problems.append(Problem(f"related_{kind}", _l(
            "The enterprise and the provider are related (%(link)s)"), {"link": LINK_NAMES[kind]}))
    return problems


def service_problems(enterprise: Enterprise, provider: Provider, instrument: InstrumentFacts,
                     service: str, rules: dict, ledger: Ledger) -> list[Problem]:
    services = rules["services"]
    problems = []
    if provider.kind not in services["provider_kinds"]:
        problems.append(Problem("provider_kind", _l(
            "The provider is not a university or research institute")))
    if services.get("provider_must_be_listed") and not provider.listed:
        problems.append(Problem("provider_unlisted", _l(
            "The provider is not admitted to the platform")))
    if not instrument.is_listed:
        problems.append(Problem("instrument_not_public", _l(
            "The instrument is not in the public directory")))
    if services.get("provider_must_publish_rates") and not instrument.has_rates:
        problems.append(Problem("no_published_rates", _l(
            "The instrument has no published rates")))
    if service in services.get("excluded", ()) or (
            services.get("qualifying") and service not in services["qualifying"]):
        problems.append(Problem("service_excluded", _l(
            "This service type (%(service)s) is not covered by vouchers"), {"service": service}))
    return problems + _related_problems(enterprise, provider,
                                        services.get("related_party_block", []), ledger)


def provider_rate(rate: Decimal, enterprise: Enterprise, provider: Provider, rules: dict) -> Decimal:
    """Out-of-region providers are subsidised at a reduced rate (rate × factor)."""
    if (provider.region_code or "").startswith(rules.get("region_code", "")):
        return rate
    return rate * decimal_at(rules, "services", "non_local_provider_factor")


def eligibility(enterprise: Enterprise, provider: Provider | None,
                instrument: InstrumentFacts | None, service: str | None, rules: dict,
                ledger: Ledger, declared_class: str | None = None) -> Eligible | list[Problem]:
    """Eligible, or every failing rule. Without a provider only the enterprise is checked
    (applying for the year's quota before any service is chosen)."""
    problems = enterprise_problems(enterprise, declared_class, rules, ledger)
    if provider is not None:
        problems += service_problems(enterprise, provider, instrument, service, rules, ledger)
    if problems:
        return problems
    rule = class_rule(rules, declared_class or best_class(enterprise, rules, ledger.today))
    rate = provider_rate(rule.rate, enterprise, provider, rules) if provider else rule.rate
    return Eligible(rule.code, rate, rule.cap_per_year_fen,
                    max(rule.cap_per_year_fen - ledger.group_committed_fen, 0),
                    int(rules["caps"]["per_application_fen"]))


# --- amounts ---------------------------------------------------------------------------------
def subsidy_for(invoice_amount_fen: int, voucher_remaining_fen: int, rate: Decimal, rules: dict,
                year_remaining_fen: int | None = None) -> int:
    """The voucher's share of one invoice: amount × rate (half-up to the fen), at most the
    per-application cap, the voucher's remaining value and what the year's cap still allows."""
    if invoice_amount_fen <= 0 or voucher_remaining_fen <= 0:
        return 0
    limits = [round_fen(Decimal(invoice_amount_fen) * rate), voucher_remaining_fen,
              int(rules["caps"]["per_application_fen"])]
    if year_remaining_fen is not None:
        limits.append(year_remaining_fen)
    return max(min(limits), 0)


def budget_allowance_fen(rules: dict, quarter: int) -> int:
    """What may be committed by the end of `quarter` (1-4): the batches so far, so unused
    money of a quarter rolls into the next one (and not into the next year)."""
    pool = Decimal(int(rules["budget"]["annual_pool_fen"]))
    return round_fen(pool * sum(quarterly_batches(rules)[:quarter]))


def amount_problems(amount_fen: int, cap_remaining_fen: int) -> list[Problem]:
    """Why an amount cannot be granted to this enterprise (zero, over its yearly cap)."""
    problems = []
    if amount_fen <= 0:
        problems.append(Problem("amount", _l("The amount must be more than zero")))
    if amount_fen > cap_remaining_fen:
        problems.append(Problem("year_cap", _l(
            "Over the yearly cap of the enterprise (per actual controller)")))
    return problems


def approval_problems(amount_fen: int, allowance_fen: int, committed_fen: int,
                      cap_remaining_fen: int) -> list[Problem]:
    """Why an amount cannot be approved now: the amount rules plus the budget of the batches
    released so far."""
    problems = amount_problems(amount_fen, cap_remaining_fen)
    if amount_fen > allowance_fen - committed_fen:
        problems.append(Problem("budget_exhausted", _l(
            "Not enough budget left in this quarter's batch")))
    return problems


def arrival_problems(earlier_waiting: list[tuple[int, int]], remainder_fen: int
                     ) -> list[Problem]:
    """First come, first served (first fit in order of arrival): an application cannot be
    approved while an earlier one that fits the batch's remaining budget waits.
    `earlier_waiting`: (application id, amount asked) in order of arrival."""
    first = next((id_ for id_, amount in earlier_waiting if amount <= remainder_fen), None)
    if first is not None:
        return [Problem("earlier_waiting", _l(
            "Application #%(id)s arrived earlier, fits the remaining budget and is waiting: "
            "decide it first (first come, first served)."), {"id": first})]
    return []


def non_local_problems(amount_fen: int, non_local_committed_fen: int, rules: dict
                       ) -> list[Problem]:
    """Out-of-area enterprises share at most `non_local_share_cap` of the annual pool (Changping's
    20 %); only relevant when the bureau admits them (registered_in_region off)."""
    pool = Decimal(int(rules["budget"]["annual_pool_fen"]))
    cap = round_fen(pool * Decimal(str(rules["budget"].get("non_local_share_cap", 1))))
    if non_local_committed_fen + amount_fen > cap:
        return [Problem("non_local_share", _l(
            "The share of the pool for enterprises from outside the region is used up"))]
    return []


def share_after_credits(share_fen: int, amount_due_fen: int, credited_fen: int) -> int:
    """The voucher share once credit notes gave back `credited_fen` of the `amount_due_fen`
    the customer was charged. The share is rate × the fee actually charged, so it shrinks in
    the same proportion (a full refund frees all of it), half-up to the fen."""
    if credited_fen <= 0 or amount_due_fen <= 0:
        return share_fen
    return divide_half_up(share_fen * max(amount_due_fen - credited_fen, 0), amount_due_fen)


def provider_reward_fen(net_year_fen: int, rules: dict, reward_so_far_fen: int) -> int:
    """The reward a statement carries. A provider's reward for a year is min(cap, rate × its
    net voucher turnover of the year so far, this statement included); the statement carries
    what that adds to the rewards already on the year's other statements. When refunds shrink
    the net, that is negative (a claw-back), never more than was paid."""
    reward = rules["provider_reward"]
    share = round_fen(Decimal(max(net_year_fen, 0)) *
                      Decimal(str(reward["rate_of_voucher_turnover"])))
    return min(share, int(reward["cap_per_provider_per_year_fen"])) - reward_so_far_fen


SAMPLE_EVERY_MONTHS = (1, 2, 3, 4, 6, 12)  # a sampling period divides the year


def sample_windows(every_months: int) -> list[tuple[int, int, int]]:
    """The year's sampling periods of `every_months` months: (number, first month, last)."""
    return [(n, (n - 1) * every_months + 1, n * every_months)
            for n in range(1, 12 // every_months + 1)]


def sample_size(count: int, sample_rate: Decimal) -> int:
    """How many of `count` redemptions to re-check: the rate, rounded up (at least one)."""
    if count <= 0:
        return 0
    wanted = int((Decimal(count) * sample_rate).to_integral_value(rounding=ROUND_CEILING))
    return min(count, max(1, wanted))


def review_due(applied_at: datetime, rules: dict) -> datetime:
    """When an application must be answered: review_sla_days after it arrived."""
    return applied_at + timedelta(days=int(rules["oversight"]["review_sla_days"]))




# What the published schemes pay at most (default_policy.toml's sources): a policy above them,
# or one that makes a part of the scheme pay nothing, is allowed (a bureau may suspend a class)
# but said before it is published.
HIGHEST_PUBLISHED_CLASS_RATE = Decimal("0.5")     # Changping, Beijing
HIGHEST_PUBLISHED_REWARD_RATE = Decimal("0.05")   # Jiangsu: up to 5 % of voucher turnover


def policy_warnings(rules: dict) -> list[Problem]:
    """Settings that are valid but probably not meant: parts of the scheme that would pay
    nothing, rates above what the published schemes pay. For the bureau to read before
    publishing; they do not block it."""
    warnings = []
    if int(rules["budget"]["annual_pool_fen"]) == 0:
        warnings.append(Problem("pool_zero", _l(
            "The annual budget is ¥0: no application can be approved.")))
    if int(rules["caps"]["per_application_fen"]) == 0:
        warnings.append(Problem("per_invoice_zero", _l(
            "The cap per invoice is ¥0: vouchers pay nothing towards any invoice.")))
    for rule in class_rules(rules):
        name = CLASS_NAMES.get(rule.code, rule.code)
        if rule.rate == 0 or rule.cap_per_year_fen == 0:
            warnings.append(Problem("class_pays_nothing", _l(
                "%(name)s: vouchers pay this class nothing (rate %(rate)s %%, cap per year "
                "%(cap)s)."), {"name": name, "rate": percent(rule.rate),
                               "cap": format_cny(rule.cap_per_year_fen)}))
        elif rule.rate > HIGHEST_PUBLISHED_CLASS_RATE:
            warnings.append(Problem("class_rate_high", _l(
                "%(name)s: a rate of %(rate)s %% is above the %(highest)s %% the published "
                "schemes pay at most."), {"name": name, "rate": percent(rule.rate),
                                         "highest": percent(HIGHEST_PUBLISHED_CLASS_RATE)}))
    reward_rate = decimal_at(rules, "provider_reward", "rate_of_voucher_turnover")
    if reward_rate > HIGHEST_PUBLISHED_REWARD_RATE:
        warnings.append(Problem("reward_rate_high", _l(
            "The provider reward, %(rate)s %% of voucher turnover, is above the %(highest)s %% "
            "the published schemes allow."), {"rate": percent(reward_rate),
                                              "highest": percent(HIGHEST_PUBLISHED_REWARD_RATE)}))
    if reward_rate > 0 and int(rules["provider_reward"]["cap_per_provider_per_year_fen"]) == 0:
        warnings.append(Problem("reward_cap_zero", _l(
            "The provider reward pays nothing: its cap per provider per year is ¥0.")))
    if decimal_at(rules, "services", "non_local_provider_factor") == 0:
        warnings.append(Problem("non_local_zero", _l(
            "Vouchers pay nothing towards out-of-area providers' services (factor %(factor)s "
            "%%)."), {"factor": "0"}))
    if decimal_at(rules, "oversight", "sample_rate") == 0:
        warnings.append(Problem("no_sampling", _l(
            "No redemption is sampled for re-check (share %(share)s %%)."), {"share": "0"}))
    return warnings
