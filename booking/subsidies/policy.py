"""Voucher policy as data: load the default TOML, validate, read typed values, diff versions.

Pure: no Flask, no database. Rules are a JSON-able dict (the TOML's [voucher] table plus the
region code); decimals are kept as strings so that no float ever touches money.
"""
import tomllib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

DEFAULT_POLICY_FILE = Path(__file__).with_name("default_policy.toml")

ENTERPRISE_CLASSES = ("small_micro", "sme_science_based", "startup_team")
PROVIDER_KINDS = ("university", "institute")
SERVICE_TYPES = ("instrument_use", "testing", "rd_design", "commissioned_rd", "statutory_testing",
                 "mandatory_testing", "certification", "commercial_inspection", "medical")
RELATED_PARTY_KINDS = ("same_legal_person", "subordination", "co_construction", "equity_link")
LINK_KINDS = ("subordination", "co_construction", "equity_link")
VALIDITIES = ("calendar_year",)
ALLOCATIONS = ("first_come_first_served", "bureau_choice")
AGGREGATIONS = ("actual_controller", "enterprise")
CLASS_LIMITS = ("max_staff", "max_revenue_fen", "max_assets_fen", "max_registered_capital_fen",
                "max_age_days")
CLASS_FLAGS = ("not_incorporated",)  # true: only a team that is not a legal person yet


def load_default_rules(year: int) -> dict:
    """The default file's voucher rules for `year` (the file's own year is only its example)."""
    with DEFAULT_POLICY_FILE.open("rb") as fp:
        data = tomllib.load(fp, parse_float=str)
    return {"year": year, "region_code": data["meta"]["region_code"], **data["voucher"]}


# --- validation ------------------------------------------------------------------------------
def _decimal(value) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _rate_problem(path: str, value) -> str | None:
    number = _decimal(value)
    if number is None or not Decimal(0) <= number <= Decimal(1):
        return f"{path} must be a number between 0 and 1 (got {value!r})"
    return None


def _amount_problem(path: str, value) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return f"{path} must be a whole number of fen, 0 or more (got {value!r})"
    return None


def _subset_problem(path: str, values, allowed) -> str | None:
    unknown = sorted(set(values or ()) - set(allowed))
    if unknown:
        return f"{path} has unknown entries: {', '.join(map(str, unknown))}"
    return None


def _class_problems(classes: dict) -> list[str]:
    problems = []
    if not classes:
        problems.append("classes: at least one enterprise class is needed")
    for code, spec in classes.items():
        if code not in ENTERPRISE_CLASSES:
            problems.append(f"classes.{code} is not a known enterprise class "
                            f"({', '.join(ENTERPRISE_CLASSES)})")
            continue
        problems.append(_rate_problem(f"classes.{code}.rate", spec.get("rate")))
        problems.append(_amount_problem(f"classes.{code}.cap_per_year_fen",
                                        spec.get("cap_per_year_fen")))
        problems += [_amount_problem(f"classes.{code}.{key}", spec[key])
                     for key in CLASS_LIMITS if key in spec]
        problems += [f"classes.{code}.{key} must be true or false"
                     for key in CLASS_FLAGS if key in spec and not isinstance(spec[key], bool)]
    return [p for p in problems if p]


def _budget_problems(budget: dict) -> list[str]:
    problems = [_amount_problem("budget.annual_pool_fen", budget.get("annual_pool_fen")),
                _rate_problem("budget.non_local_share_cap", budget.get("non_local_share_cap", 0))]
    batches = budget.get("quarterly_batches") or []
    shares = [_decimal(b) for b in batches]
    if len(batches) != 4 or any(s is None or s < 0 for s in shares):
        problems.append("budget.quarterly_batches must be four shares of 0 or more")
    elif sum(shares) != Decimal(1):
        problems.append(f"budget.quarterly_batches must sum to 1 (they sum to {sum(shares)})")
    return [p for p in problems if p]


def _whole_number_in(value, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def validate_rules(rules: dict) -> list[str]:
    """Every problem with the rules, as readable sentences; empty when the policy is usable."""
    try:
        services = rules.get("services", {})
        reward = rules.get("provider_reward", {})
        problems = _class_problems(rules.get("classes", {}))
        problems += _budget_problems(rules.get("budget", {}))
        problems += [
            _amount_problem("caps.per_application_fen", rules.get("caps", {}).get(
                "per_application_fen")),
            _subset_problem("services.provider_kinds", services.get("provider_kinds"),
                            PROVIDER_KINDS),
            _subset_problem("services.excluded", services.get("excluded"), SERVICE_TYPES),
            _subset_problem("services.qualifying", services.get("qualifying"), SERVICE_TYPES),
            _subset_problem("services.related_party_block", services.get("related_party_block"),
                            RELATED_PARTY_KINDS),
            _rate_problem("services.non_local_provider_factor",
                          services.get("non_local_provider_factor")),
            _rate_problem("oversight.sample_rate", rules.get("oversight", {}).get("sample_rate")),
            _rate_problem("provider_reward.rate_of_voucher_turnover",
                          reward.get("rate_of_voucher_turnover")),
            _amount_problem("provider_reward.cap_per_provider_per_year_fen",
                            reward.get("cap_per_provider_per_year_fen")),
        ]
        oversight = rules.get("oversight", {})
        if not _whole_number_in(oversight.get("review_sla_days"), 1, 365):
            problems.append("oversight.review_sla_days must be a whole number of days, 1 to 365")
        if oversight.get("sample_every_months") not in (1, 2, 3, 4, 6, 12):
            problems.append("oversight.sample_every_months must divide the year: "
                            "1, 2, 3, 4, 6 or 12")
        if rules.get("caps", {}).get("aggregate_by") not in AGGREGATIONS:
            problems.append(f"caps.aggregate_by must be one of {', '.join(AGGREGATIONS)}")
        if rules.get("budget", {}).get("allocation") not in ALLOCATIONS:
            problems.append(f"budget.allocation must be one of {', '.join(ALLOCATIONS)}")
        if rules.get("validity") not in VALIDITIES:
            problems.append(f"validity must be one of {', '.join(VALIDITIES)}")
        if not services.get("provider_kinds"):
            problems.append("services.provider_kinds: at least one provider kind is needed")
    except (AttributeError, TypeError) as exc:
        return [f"the policy is malformed: {exc}"]
    return [p for p in problems if p]


# --- typed reading ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ClassRule:
    code: str
    rate: Decimal
    cap_per_year_fen: int
    limits: dict


def class_rule(rules: dict, code: str) -> ClassRule | None:
    spec = rules["classes"].get(code)
    if spec is None:
        return None
    return ClassRule(code, Decimal(str(spec["rate"])), int(spec["cap_per_year_fen"]),
                     {k: spec[k] for k in CLASS_LIMITS + CLASS_FLAGS if k in spec})


def class_rules(rules: dict) -> list[ClassRule]:
    return [class_rule(rules, code) for code in ENTERPRISE_CLASSES if code in rules["classes"]]


def decimal_at(rules: dict, *path: str) -> Decimal:
    value = rules
    for key in path:
        value = value[key]
    return Decimal(str(value))


def quarterly_batches(rules: dict) -> list[Decimal]:
    return [Decimal(str(b)) for b in rules["budget"]["quarterly_batches"]]


# --- diff ------------------------------------------------------------------------------------
def _flatten(value, prefix: str = "") -> dict:
    if isinstance(value, dict):
        flat = {}
        for key, inner in value.items():
            flat.update(_flatten(inner, f"{prefix}.{key}" if prefix else key))
        return flat
    return {prefix: value}


def _same(a, b) -> bool:
    """Equal settings: "0.50" and "0.5" are the same rate."""
    if a == b:
        return True
    left, right = _decimal(a), _decimal(b)
    return left is not None and left == right


def diff_rules(old: dict, new: dict) -> list[tuple[str, object, object]]:
    """(path, old value, new value) for every setting that differs, sorted by path."""
    before, after = _flatten(old), _flatten(new)
    return [(path, before.get(path), after.get(path)) for path in sorted(before.keys() | after.keys())
            if not _same(before.get(path), after.get(path))]
