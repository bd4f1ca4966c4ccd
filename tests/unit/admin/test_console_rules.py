from booking.accounts.rules import grantable_roles, make_credit_code
from booking.admin.rules import organisation_problems, region_for_city

CODE = make_credit_code("12210000MB0000001")


def _codes(**over):
    fields = {"kind": "university", "name_zh": "渤海理工大学", "credit_code": CODE,
              "city": "大连", "region_code": "2102", **over}
    return [p.code for p in organisation_problems(**fields)]


def test_a_good_organisation_has_no_problems():
    assert _codes() == []


def test_every_problem_is_named():
    assert _codes(kind="shop", name_zh=" ", credit_code="X", city="", region_code="2") == [
        "kind", "name_zh", "credit_code", "city", "region_code"]
    assert _codes(kind="pilot_base") == [] and _codes(kind="incubator") == []


def test_regions_of_liaoning_cities():
    assert region_for_city("大连") == "2102" and region_for_city("鞍山市") == "2103"
    assert region_for_city("Springfield") == ""


def test_nobody_grants_above_their_own_role():
    assert grantable_roles({"admin"}) == {"member", "student", "finance", "lab_manager",
                                          "bureau_staff", "admin"}
    assert "admin" not in grantable_roles({"bureau_staff", "member"})
    assert grantable_roles({"lab_manager"}) == {"member", "student", "finance", "lab_manager"}
    assert grantable_roles({"member"}) == {"member", "student"}
    assert grantable_roles(set()) == set()
