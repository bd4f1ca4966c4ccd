"""Pure console rules: no Flask, no database."""
from booking.accounts.rules import ORG_KINDS, credit_code_problem, is_valid_region_code
from booking.core.problems import Problem, _l

# Administrative division codes of the cities the platform serves first (GB/T 2260), so the
# CLI can take a city name alone; any other city needs --region.
CITY_REGIONS = {"沈阳": "2101", "大连": "2102", "鞍山": "2103", "抚顺": "2104", "本溪": "2105",
                "丹东": "2106", "锦州": "2107", "营口": "2108", "阜新": "2109", "辽阳": "2110",
                "盘锦": "2111", "铁岭": "2112", "朝阳": "2113", "葫芦岛": "2114"}


def region_for_city(city: str) -> str:
    city = (city or "").strip().removesuffix("市")
    return CITY_REGIONS.get(city, "")


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
