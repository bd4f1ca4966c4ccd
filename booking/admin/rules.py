"""Pure console rules: no Flask, no database."""
from booking.accounts.rules import (
    ORG_KINDS,
    credit_code_problem,
    is_valid_region_code,
    region_of_city,
)
from booking.core.problems import Problem, _l


def region_for_city(city: str) -> str:
    """The administrative division code of a Liaoning city (so the CLI can take a city name
    alone); "" for any other city, which needs --region."""
    return region_of_city(city)


def organisation_problems(*, kind: str, name_zh: str, credit_code: str, city: str,
                          region_code: str) -> list[Problem]:
    problems = []
    if kind not in ORG_KINDS:
        problems.append(Problem("kind", _l("Unknown kind of organisation.")))
    if not (name_zh or "").strip():
        problems.append(Problem("name_zh", _l("The Chinese name is required.")))
    why = credit_code_problem(credit_code)
    if why:
        problems.append(Problem("credit_code", _l(
            "Invalid unified social credit code: %(why)s"), {"why": why}))
    if not (city or "").strip():
        problems.append(Problem("city", _l("The city is required.")))
    if not is_valid_region_code(region_code):
        problems.append(Problem("region_code", _l(
            "Region code must be 2 to 6 digits, e.g. 2102 for Dalian.")))
    return problems
