"""Pure sign-on rules: role mapping, e-mail domains, provider settings. No Flask, no database."""
import re
from dataclasses import dataclass

from booking.core.problems import Problem, _l

KINDS = ("cas", "oidc", "ldap")
#: the roles a provider may give, lowest first; the admin's ceiling caps what a mapping gives
MAPPED_ROLES = ("student", "member", "lab_manager")
CAS_VERSIONS = ("2", "3")
LDAP_TLS = ("none", "starttls", "ldaps")
#: what each kind needs in its settings (and the secret, where one is needed)
REQUIRED_SETTINGS = {
    "cas": ("server_url",),
    "oidc": ("issuer", "client_id"),
    "ldap": ("url",),
}
DEFAULT_ATTRIBUTES = {
    "cas": {"email_attribute": "email", "name_attribute": "displayName"},
    "oidc": {"email_attribute": "email", "name_attribute": "name"},
    "ldap": {"email_attribute": "mail", "name_attribute": "cn"},
}
MAX_RULES = 50
MAX_DOMAINS = 20
_DOMAIN_RE = re.compile(r"^(?=.{3,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_RULE_RE = re.compile(r"^\s*([A-Za-z][\w.:-]{0,63})\s*=\s*(.{1,200}?)\s*->\s*(\w+)\s*$")


@dataclass(frozen=True)
class RoleRule:
    """`attribute` = `value` gives `role` (values compare case-insensitively)."""

    attribute: str
    value: str
    role: str

    def as_dict(self) -> dict:
        return {"attribute": self.attribute, "value": self.value, "role": self.role}

    def as_line(self) -> str:
        return f"{self.attribute}={self.value} -> {self.role}"


def values_of(attributes: dict, name: str) -> list[str]:
    """An attribute's values as a list of strings (providers send one value or a list)."""
    value = attributes.get(name)
    if value is None:
        return []
    if isinstance(value, list | tuple | set):
        return [str(v) for v in value if v is not None]
    return [str(value)]


def first_value(attributes: dict, name: str) -> str:
    values = values_of(attributes, name)
    return values[0].strip() if values else ""


def cap_role(role: str, ceiling: str) -> str:
    """`role`, or the admin's ceiling when the role ranks above it."""
    return MAPPED_ROLES[min(MAPPED_ROLES.index(role), MAPPED_ROLES.index(ceiling))]


def mapped_role(attributes: dict, rules: list[RoleRule], default: str, ceiling: str) -> str:
    """The highest role any rule gives for these attributes (else `default`), never above
    `ceiling`."""
    granted = [rule.role for rule in rules
               if rule.value.lower() in {v.strip().lower() for v in
                                         values_of(attributes, rule.attribute)}]
    best = max(granted, key=MAPPED_ROLES.index) if granted else default
    return cap_role(best, ceiling)


def listed_values(text: str) -> list[str]:
    """The values of a comma-separated setting, as an administrator types them: spaces after
    the commas, or a full-width comma (，)."""
    return [value.strip() for value in re.split(r"[,，]", text) if value.strip()]


def is_leaver(attributes: dict, leaver_attribute: str, leaver_values: list[str]) -> bool:
    """Whether the provider says this person has left (e.g. affiliation "alum" only)."""
    if not leaver_attribute or not leaver_values:
        return False
    values = {v.strip().lower() for v in values_of(attributes, leaver_attribute)}
    return bool(values) and values <= {v.lower() for v in leaver_values}


def parse_rules(text: str) -> tuple[list[RoleRule], list[Problem]]:
    """Rules from lines `attribute=value -> role`; returns (rules, problems)."""
    rules, problems = [], []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip() or line.strip().startswith("#"):
            continue
        match = _RULE_RE.match(line)
        if not match or match.group(3) not in MAPPED_ROLES:
            problems.append(Problem("rule_syntax", _l(
                "Line %(number)d: write attribute=value -> student, member or lab_manager."),
                {"number": number}))
            continue
        rules.append(RoleRule(*match.groups()))
    if len(rules) > MAX_RULES:
        problems.append(Problem("too_many_rules", _l("At most %(count)d rules."),
                                {"count": MAX_RULES}))
    return rules, problems


def rules_from_stored(stored: list | None) -> list[RoleRule]:
    return [RoleRule(r["attribute"], r["value"], r["role"]) for r in stored or []]


def normalise_domain(domain: str) -> str:
    return (domain or "").strip().lower().lstrip("@")


def parse_domains(text: str) -> tuple[list[str], list[Problem]]:
    """E-mail domains from a comma- or space-separated list; returns (domains, problems)."""
    domains, problems = [], []
    for raw in re.split(r"[\s,;]+", text or ""):
        domain = normalise_domain(raw)
        if not domain:
            continue
        if not _DOMAIN_RE.match(domain):
            problems.append(Problem("domain", _l("%(domain)s is not an e-mail domain."),
                                    {"domain": raw[:80]}))
        elif domain not in domains:
            domains.append(domain)
    if len(domains) > MAX_DOMAINS:
        problems.append(Problem("too_many_domains", _l("At most %(count)d domains."),
                                {"count": MAX_DOMAINS}))
    return domains, problems


def email_domain(email: str) -> str:
    local, at, domain = (email or "").strip().lower().rpartition("@")
    return domain if at and local else ""


def settings_problems(kind: str, settings: dict) -> list[Problem]:
    """What a provider's settings lack or get wrong (empty: usable)."""
    problems = []
    for key in REQUIRED_SETTINGS.get(kind, ()):
        if not str(settings.get(key) or "").strip():
            problems.append(Problem("required", _l(
                "%(setting)s is required for this kind of provider."), {"setting": key}))
    for key in ("server_url", "issuer", "url"):
        value = str(settings.get(key) or "")
        scheme = value.split("://", 1)[0].lower() if "://" in value else ""
        allowed = ("ldap", "ldaps") if key == "url" else ("http", "https")
        if value and scheme not in allowed:
            problems.append(Problem("scheme", _l("%(setting)s must start with %(schemes)s."),
                                    {"setting": key,
                                     "schemes": " / ".join(f"{s}://" for s in allowed)}))
    if kind == "ldap":
        direct = str(settings.get("user_dn_template") or "")
        search = str(settings.get("search_base") or "")
        if not direct and not search:
            problems.append(Problem("ldap_mode", _l(
                "An LDAP provider needs a user DN template (bind as the user) or a search base "
                "(search, then bind).")))
        if direct and "{username}" not in direct:
            problems.append(Problem("dn_template", _l(
                "The user DN template must contain {username}.")))
        if search and "{username}" not in str(settings.get("search_filter") or "(uid={username})"):
            problems.append(Problem("search_filter", _l(
                "The search filter must contain {username}.")))
    return problems
