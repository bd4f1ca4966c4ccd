"""Pure account rules: no Flask, no database (reasons are msgids, translated where shown)."""
import re

from booking.core.problems import Problem, _l

# GB 32100-2015 unified social credit code (统一社会信用代码): 18 characters from this
# 31-character alphabet (no I, O, S, V, Z); the last one is a check character.
CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# pilot bases (中试基地) and incubators (孵化器) are onboarded by the bureau like the others
ORG_KINDS = ("university", "institute", "enterprise", "bureau", "pilot_base", "incubator")
PROVIDER_KINDS = ("university", "institute")
ROLES = ("member", "student", "lab_manager", "finance", "bureau_staff", "admin")
# Higher grants more: nobody grants (or takes away) a role ranked above their own highest.
ROLE_RANK = {"member": 0, "student": 0, "finance": 1, "lab_manager": 2, "bureau_staff": 3,
             "admin": 4}
LOCALES = ("zh_CN", "en")
MIN_PASSWORD_LENGTH = 10


def credit_code_check_char(first17: str) -> str:
    total = sum(CREDIT_CODE_ALPHABET.index(c) * w for c, w in zip(first17, CREDIT_CODE_WEIGHTS,
                                                                     strict=True))
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def normalise_credit_code(code: str) -> str:
    return (code or "").strip().upper()


def credit_code_problem(code: str) -> str | None:
    """None when the code is valid, else a short reason."""
    code = normalise_credit_code(code)
    if len(code) != 18:
        return _l("must be 18 characters")
    if any(c not in CREDIT_CODE_ALPHABET for c in code):
        return _l("contains a character not allowed in credit codes (I, O, S, V, Z or "
                  "punctuation)")
    if credit_code_check_char(code[:17]) != code[17]:
        return _l("check character does not match")
    return None


def make_credit_code(first17: str) -> str:
    """Append the check character (for seeds and tests)."""
    return first17 + credit_code_check_char(first17)


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def mask_email(email: str) -> str:
    """Enough of an address to tell people apart, not enough to harvest it: z***@dlut.edu.cn."""
    local, _at, domain = (email or "").partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def password_problems(password: str, email: str = "") -> list[Problem]:
    problems = []
    if len(password or "") < MIN_PASSWORD_LENGTH:
        problems.append(Problem("password_short", _l("at least %(n)d characters"),
                                {"n": MIN_PASSWORD_LENGTH}))
    if email and password and password.lower() == normalise_email(email):
        problems.append(Problem("password_is_email", _l("must not be your e-mail address")))
    if password and len(set(password)) < 4:
        problems.append(Problem("password_plain", _l("too few distinct characters")))
    return problems


_REGION_RE = re.compile(r"^\d{2,6}$")


def is_valid_region_code(code: str) -> bool:
    return bool(_REGION_RE.match(code or ""))


BUREAU_ROLES = frozenset({"admin", "bureau_staff"})  # the platform's operators


def roles_for_organisation(kind: str) -> set[str]:
    """The roles a member of an organisation of `kind` may hold: running the platform
    (deciding vouchers, ranking institutions) is for the bureau's own people, never for a
    member of an SME or a university who could then approve their own organisation's case."""
    return set(ROLE_RANK) if kind == "bureau" else set(ROLE_RANK) - BUREAU_ROLES


def grantable_roles(held) -> set[str]:
    """The roles someone holding the roles `held` may grant or take away: none above their own
    highest."""
    top = max((ROLE_RANK[name] for name in held), default=-1)
    return {name for name, rank in ROLE_RANK.items() if rank <= top}


# The cities the platform serves first (Liaoning): administrative division code (GB/T 2260)
# and usual English (pinyin) name, a msgid whose Chinese is the city (messages name it in the
# reader's language). An organisation's city is typed in Chinese; any other city needs its code
# typed too, and shows as typed.
LIAONING_CITIES = {
    "沈阳": ("2101", _l("Shenyang")), "大连": ("2102", _l("Dalian")),
    "鞍山": ("2103", _l("Anshan")), "抚顺": ("2104", _l("Fushun")),
    "本溪": ("2105", _l("Benxi")), "丹东": ("2106", _l("Dandong")),
    "锦州": ("2107", _l("Jinzhou")), "营口": ("2108", _l("Yingkou")),
    "阜新": ("2109", _l("Fuxin")), "辽阳": ("2110", _l("Liaoyang")),
    "盘锦": ("2111", _l("Panjin")), "铁岭": ("2112", _l("Tieling")),
    "朝阳": ("2113", _l("Chaoyang")), "葫芦岛": ("2114", _l("Huludao"))}
CITY_NAMES_EN = {city: english for city, (_code, english) in LIAONING_CITIES.items()}
_CITIES_BY_ENGLISH = {english.casefold(): city for city, english in CITY_NAMES_EN.items()}


def region_of_city(city: str) -> str:
    """The division code of a Liaoning city, however it was typed; "" for any other city."""
    return LIAONING_CITIES.get(city_key(city), ("", ""))[0]


def city_key(city: str) -> str:
    """One spelling of a city, however it was typed: 大连, 大连市 and Dalian are 大连."""
    city = (city or "").strip()
    return _CITIES_BY_ENGLISH.get(city.casefold(), city.removesuffix("市") or city)


def city_name(city: str, locale: str) -> str:
    """The city as a reader of `locale` reads it: 大连 (or 大连市) is Dalian in English."""
    if locale != "en":
        return city
    return CITY_NAMES_EN.get(city_key(city), city)
