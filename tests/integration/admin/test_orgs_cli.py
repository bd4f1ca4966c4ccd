"""Bootstrapping from an empty database: `flask orgs create` then `flask users create`."""
from booking.accounts.models import Organisation, User
from booking.accounts.rules import make_credit_code
from booking.extensions import db

CODE = make_credit_code("11210200MB0099001")


def test_bootstrap_an_organisation_and_its_admin(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=[
        "orgs", "create", "--kind", "bureau", "--name-zh", "大连市科学技术局", "--name-en",
        "Dalian S&T Bureau", "--credit-code", CODE.lower(), "--city", "大连"])
    assert result.exit_code == 0, result.output
    org = db.session.query(Organisation).filter_by(credit_code=CODE).one()
    assert (org.kind, org.region_code, org.verified, org.active) == ("bureau", "2102", True, True)
    result = runner.invoke(args=["users", "create", "--email", "root@city.cn", "--password",
                                 "bootstrap-2026!", "--role", "admin", "--org", CODE])
    assert result.exit_code == 0, result.output
    assert db.session.query(User).filter_by(email="root@city.cn").one().is_admin
    again = runner.invoke(args=["orgs", "create", "--kind", "incubator", "--name-zh", "孵化器",
                                "--credit-code", CODE, "--city", "大连"])
    assert again.exit_code == 1 and "已有使用该统一社会信用代码的机构" in again.output
    bad = runner.invoke(args=["orgs", "create", "--kind", "pilot_base", "--name-zh", "中试基地",
                              "--credit-code", "123", "--city", "Springfield"])
    assert bad.exit_code == 1 and "18" in bad.output and "2102" in bad.output  # both problems


def test_users_create_without_org_joins_the_only_bureau(app, make):
    runner = app.test_cli_runner()
    args = ["users", "create", "--password", "bootstrap-2026!", "--role", "admin"]
    none = runner.invoke(args=[*args, "--email", "a@city.cn"])
    assert none.exit_code == 1 and "--org" in none.output  # no bureau yet
    bureau = make.organisation(kind="bureau")
    result = runner.invoke(args=[*args, "--email", "b@city.cn"])
    assert result.exit_code == 0, result.output
    assert db.session.query(User).filter_by(email="b@city.cn").one().organisation_id == bureau.id
    make.organisation(kind="bureau")
    two = runner.invoke(args=[*args, "--email", "c@city.cn"])
    assert two.exit_code == 1 and "--org" in two.output
    assert db.session.query(User).filter_by(email="c@city.cn").one_or_none() is None
