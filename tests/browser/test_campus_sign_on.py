"""Campus sign-on in Chromium against the real servers: a CAS student and an OpenID Connect
researcher sign in through their institutions and book; an LDAP-backed lab manager signs in
and is deactivated by the next sync after leaving the directory."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from booking.core.clock import now_utc, to_local
from tests.browser.helpers import shot
from tests.factories.identity import SECRETS, cas_provider, ldap_provider, oidc_provider
from tests.servers import CAS_PASSWORD, LDAP_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.committing]


def _next_tuesday():
    today = to_local(now_utc(), "Asia/Shanghai").date()
    return today + timedelta(days=7 - today.weekday() + 1)


@pytest.fixture(scope="module")
def campus(live_app, cas_server, oidc_server, ldap_server):
    """Three institutions on the three protocols, each with an instrument that needs no
    approval."""
    from booking.extensions import db
    from tests.factories import Factory

    live_app.config["SSO_SECRETS"] = SECRETS
    make = Factory()
    with live_app.app_context():
        cas_org = make.organisation(name_zh="CAS测试大学", name_en="CAS Test University")
        oidc_org = make.organisation(kind="institute", name_zh="OIDC测试研究所",
                                     name_en="OIDC Test Institute")
        ldap_org = make.organisation(name_zh="LDAP测试大学", name_en="LDAP Test University")
        result = {
            "cas": cas_provider(cas_server, cas_org, label="统一身份认证").id,
            "oidc": oidc_provider(oidc_server, oidc_org).id,
            "ldap": ldap_provider(ldap_server, ldap_org).id,
            "cas_instrument": make.instrument(organisation=cas_org, requires_approval=False,
                                              name_zh="扫描电镜（CAS）").id,
            "oidc_instrument": make.instrument(organisation=oidc_org, requires_approval=False,
                                               name_zh="质谱仪（OIDC）").id,
            "ldap_org": ldap_org.credit_code,
        }
        db.session.commit()
    return result


def _pick(page, base, search, provider_id):
    page.context.clear_cookies()
    page.goto(base + "/login")
    page.fill("#sso-filter", search)
    link = page.locator(f"#sso-list a[href*='provider={provider_id}']")
    assert page.locator("#sso-list a:visible").count() == 1  # the search narrowed the list
    shot(page, f"sso-login-picker-{provider_id}")
    link.click()


def _book(page, base, instrument_id, hour):
    tuesday = _next_tuesday()
    page.goto(f"{base}/instruments/{instrument_id}/book")
    page.locator(".fc-timegrid").wait_for()
    page.fill("#start", f"{tuesday.isoformat()}T{hour:02d}:00")
    page.fill("#end", f"{tuesday.isoformat()}T{hour + 1:02d}:00")
    page.dispatch_event("#end", "change")
    page.fill("#purpose", "统一身份认证用户的预约")
    page.click("#book-submit")
    page.wait_for_url(base + "/bookings/mine")
    return page.locator("#upcoming tbody tr").first.inner_text()


def _user(live_app, email):
    from booking.accounts.models import User
    from booking.extensions import db

    with live_app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        return {"org": user.organisation_id, "roles": user.role_names(), "active": user.active,
                "bookings": user.id}


def test_cas_student_signs_in_and_books(live_server, live_app, page, campus, cas_server):
    _pick(page, live_server, "cas测试", campus["cas"])
    page.wait_for_url(lambda url: url.startswith(cas_server.url + "/login"))
    page.fill("#id_username", "cas.browser")
    page.fill("#id_password", CAS_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server + "/")
    row = _book(page, live_server, campus["cas_instrument"], 10)
    assert "扫描电镜（CAS）" in row
    shot(page, "sso-cas-booked")
    user = _user(live_app, "cas.browser@cas.example.edu")
    assert user["roles"] == ["student"]
    # the institution is remembered for the next visit (signed out: only that cookie kept)
    remembered = [c for c in page.context.cookies() if c["name"] == "sso_provider"]
    page.context.clear_cookies()
    page.context.add_cookies(remembered)
    page.goto(live_server + "/login")
    assert "CAS测试大学" in page.inner_text("#sso-remembered")


def test_oidc_researcher_signs_in_and_books(live_server, live_app, page, campus, oidc_server):
    _pick(page, live_server, "研究所", campus["oidc"])
    page.wait_for_url(lambda url: url.startswith(oidc_server.issuer + "/interaction/"))
    page.fill("input[name=login]", "oidc.browser")
    page.fill("input[name=password]", "any-password")
    page.click("button[type=submit]")
    page.wait_for_url(live_server + "/")
    row = _book(page, live_server, campus["oidc_instrument"], 14)
    assert "质谱仪（OIDC）" in row
    shot(page, "sso-oidc-booked")
    assert _user(live_app, "oidc.browser@oidc.example.org")["roles"] == ["member"]


def test_ldap_manager_signs_in_and_the_sync_switches_them_off(live_server, live_app, page,
                                                              campus, ldap_server):
    ldap_server.add_person("ldap.browser", mail="ldap.browser@campus.example", cn="Gao Zhuren",
                           employee_types=("staff", "lab-manager"))
    try:
        _pick(page, live_server, "LDAP", campus["ldap"])
        page.wait_for_url(f"{live_server}/sso/{campus['ldap']}/ldap")
        shot(page, "sso-ldap-form")
        page.fill("#username", "ldap.browser")
        page.fill("#password", LDAP_PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url(live_server + "/")
        assert page.goto(live_server + "/lab").status == 200  # the lab console opens
        assert page.url == live_server + "/lab"
        assert _user(live_app, "ldap.browser@campus.example")["roles"] == ["lab_manager"]
    finally:
        ldap_server.remove_person("ldap.browser")

    result = live_app.test_cli_runner().invoke(args=["sso", "sync", "--org", campus["ldap_org"]])
    assert "1 deactivated" in result.output, result.output
    assert _user(live_app, "ldap.browser@campus.example")["active"] is False
    page.goto(live_server + "/lab")
    assert "/login" in page.url  # the open session ended with the deactivation


def test_cas_single_logout_signs_out_here_too(live_server, page, campus, cas_server):
    _pick(page, live_server, "cas测试", campus["cas"])
    page.fill("#id_username", "cas.student")
    page.fill("#id_password", CAS_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server + "/")
    assert page.goto(live_server + "/tokens").url == live_server + "/tokens"
    page.goto(cas_server.url + "/logout")  # the CAS server tells every service it signed into
    page.goto(live_server + "/tokens")
    assert "/login" in page.url


def test_admin_configures_a_provider(live_server, live_app, page):
    from booking.extensions import db
    from tests.browser.helpers import log_in
    from tests.factories import Factory

    with live_app.app_context():
        Factory().organisation(name_zh="配置测试大学")
        db.session.commit()
    log_in(page, live_server, "admin@demo.cn")
    page.goto(live_server + "/admin/identity-providers")
    page.click("a[href='/admin/identity-providers/new']")
    page.select_option("#organisation_id", label="配置测试大学")
    page.select_option("#kind", "cas")
    page.fill("#label", "统一身份认证")
    page.fill("#email_domains_text", "dlut.edu.cn, mail.dlut.edu.cn")
    page.fill("#server_url", "https://cas.dlut.example/cas")
    page.fill("#role_rules_text", "eduPersonAffiliation=student -> student\n"
                                  "eduPersonAffiliation=faculty -> lab_manager")
    page.select_option("#max_role", "lab_manager")
    shot(page, "sso-admin-form")
    page.click("form button[type=submit].btn-primary")
    page.wait_for_url(live_server + "/admin/identity-providers")
    row = page.locator("tbody tr", has_text="配置测试大学")
    assert "dlut.edu.cn" in row.inner_text()
    shot(page, "sso-admin-list")


def test_an_institutional_e_mail_leads_to_the_institution(live_server, live_app, page, campus,
                                                           cas_server):
    """Reported: typing the institutional address and 'Go' did nothing in Chromium for CAS
    and OpenID Connect (the pages' form-action policy stopped the form's way off the site)."""
    from booking.extensions import db
    from booking.identity.models import IdentityProvider

    with live_app.app_context():
        db.session.get(IdentityProvider, campus["cas"]).email_domains = "cas.example.edu"
        db.session.commit()
    page.context.clear_cookies()
    page.goto(live_server + "/login")
    page.fill("#sso-email", "someone@cas.example.edu")
    page.click("#sso-email ~ button[type=submit]")
    page.wait_for_url(lambda url: url.startswith(cas_server.url + "/login"))
    assert page.locator("#id_username").is_visible()
