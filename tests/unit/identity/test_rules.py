import pytest

from booking.identity import rules
from booking.identity.rules import RoleRule

RULES = [RoleRule("eduPersonAffiliation", "student", "student"),
         RoleRule("eduPersonAffiliation", "staff", "member"),
         RoleRule("groups", "Lab-Managers", "lab_manager")]


@pytest.mark.parametrize("attributes, default, ceiling, role", [
    ({"eduPersonAffiliation": "student"}, "member", "lab_manager", "student"),
    ({"eduPersonAffiliation": ["student", "staff"]}, "member", "lab_manager", "member"),
    ({"groups": ["lab-managers"]}, "student", "lab_manager", "lab_manager"),
    ({"groups": ["lab-managers"]}, "student", "member", "member"),  # capped
    ({"groups": ["lab-managers"]}, "student", "student", "student"),
    ({}, "member", "lab_manager", "member"),
    ({}, "member", "student", "student"),  # even the default is capped
    ({"eduPersonAffiliation": None}, "student", "lab_manager", "student"),
])
def test_mapped_role(attributes, default, ceiling, role):
    assert rules.mapped_role(attributes, RULES, default, ceiling) == role


def test_parse_rules_reads_lines_and_names_bad_ones():
    parsed, problems = rules.parse_rules(
        "eduPersonAffiliation=student -> student\n\n# note\ngroups = lab managers -> lab_manager\n"
        "bad line\nx=y -> admin")
    assert parsed == [RoleRule("eduPersonAffiliation", "student", "student"),
                      RoleRule("groups", "lab managers", "lab_manager")]
    assert [p.code for p in problems] == ["rule_syntax", "rule_syntax"]
    assert "Line 5" in problems[0].message


def test_rules_round_trip_through_storage():
    stored = [rule.as_dict() for rule in RULES]
    assert rules.rules_from_stored(stored) == RULES
    assert rules.parse_rules("\n".join(r.as_line() for r in RULES))[0] == RULES


def test_parse_domains():
    domains, problems = rules.parse_domains("dlut.edu.cn, @MAIL.dlut.edu.cn;dlut.edu.cn x")
    assert domains == ["dlut.edu.cn", "mail.dlut.edu.cn"]
    assert [p.code for p in problems] == ["domain"]


@pytest.mark.parametrize("email, domain", [("a@B.cn", "b.cn"), ("x", ""), ("@b.cn", ""),
                                           ("a@b@c.cn", "c.cn")])
def test_email_domain(email, domain):
    assert rules.email_domain(email) == domain


@pytest.mark.parametrize("values, leaver", [(["alum"], True), (["alum", "student"], False),
                                            ([], False), (["ALUM"], True)])
def test_is_leaver(values, leaver):
    attributes = {"eduPersonAffiliation": values}
    assert rules.is_leaver(attributes, "eduPersonAffiliation", ["alum", "former"]) is leaver
    assert rules.is_leaver(attributes, "", ["alum"]) is False


@pytest.mark.parametrize("kind, settings, codes", [
    ("cas", {"server_url": "https://cas.x/cas"}, []),
    ("cas", {}, ["required"]),
    ("cas", {"server_url": "ftp://x"}, ["scheme"]),
    ("oidc", {"issuer": "https://id.x"}, ["required"]),
    ("ldap", {"url": "ldaps://x", "user_dn_template": "uid={username},dc=x"}, []),
    ("ldap", {"url": "ldap://x"}, ["ldap_mode"]),
    ("ldap", {"url": "http://x", "user_dn_template": "uid=x"}, ["scheme", "dn_template"]),
    ("ldap", {"url": "ldap://x", "search_base": "dc=x", "search_filter": "(uid=*)"},
     ["search_filter"]),
])
def test_settings_problems(kind, settings, codes):
    assert [p.code for p in rules.settings_problems(kind, settings)] == codes


def test_leaver_values_are_read_as_an_administrator_types_them():
    """Reported: 'alumni, retired' kept ' retired' with its space: the retired signed in."""
    assert rules.listed_values("alumni, retired，退休 ,") == ["alumni", "retired", "退休"]
    values = rules.listed_values("alumni, retired")
    assert rules.is_leaver({"employeeType": ["retired"]}, "employeeType", values)
    assert not rules.is_leaver({"employeeType": ["staff"]}, "employeeType", values)
