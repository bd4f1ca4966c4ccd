"""The login page's institution picker, e-mail routing, the link step and the admin console."""
import pytest
from sqlalchemy import select

from booking.extensions import db
from booking.identity.models import IdentityProvider
from tests.factories.identity import create_provider

EN = {"Accept-Language": "en"}


def _cas(make, org=None, **fields):
    return create_provider("cas", org or make.organisation(name_zh="大连理工大学",
                                                           name_en="Dalian Univ. of Tech."),
                           server_url="https://cas.dlut.example/cas", **fields)


# --- the login page ---------------------------------------------------------------------------
def test_login_page_lists_enabled_institutions(client, make):
    provider = _cas(make, label="统一身份认证", email_domains="dlut.edu.cn")
    hidden = _cas(make, org=make.organisation(name_zh="关掉的大学"))
    hidden.enabled = False
    page = client.get("/login", headers=EN).get_data(as_text=True)
    assert "Sign in through your institution" in page
    assert f"/sso/start?provider={provider.id}" in page and "统一身份认证" in page
    assert "关掉的大学" not in page
    assert 'data-sso-text="' in page and "dlut.edu.cn" in page  # searchable by domain too


def test_login_page_without_providers_shows_only_passwords(client):
    page = client.get("/login", headers=EN).get_data(as_text=True)
    assert "Sign in through your institution" not in page


def test_the_chosen_institution_is_remembered_in_a_cookie(client, make):
    provider = _cas(make)
    response = client.get(f"/sso/start?provider={provider.id}&next=/bookings/mine")
    assert response.headers["Location"].startswith("https://cas.dlut.example/cas/login")
    cookie = client.get_cookie("sso_provider")
    assert cookie.value == str(provider.id) and cookie.http_only
    page = client.get("/login", headers=EN).get_data(as_text=True)
    assert "Continue with Dalian Univ. of Tech." in page
    with client.session_transaction() as session:
        assert session["sso_next"] == "/bookings/mine"


def test_next_never_leaves_the_site(client, make):
    provider = _cas(make)
    client.get(f"/sso/start?provider={provider.id}&next=//evil.example/")
    with client.session_transaction() as session:
        assert session["sso_next"] == ""


def test_email_domain_routes_to_the_institution(client, make):
    provider = _cas(make, email_domains="dlut.edu.cn")
    response = client.get("/sso/start?email=zhang%40DLUT.edu.cn&next=/bookings")
    # the e-mail form's answer leads on by a link: the pages' form-action policy ('self')
    # stops a form's navigation that ends on another site (Chromium did)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="moving-on"' in page
    url = f"/sso/start?provider={provider.id}&amp;next=/bookings"
    assert f'http-equiv="refresh" content="0; url={url}"' in page and f'href="{url}"' in page
    onward = client.get(f"/sso/start?provider={provider.id}&next=%2Fbookings")
    assert onward.headers["Location"].startswith("https://cas.dlut.example/cas/login")
    other = client.get("/sso/start?email=someone%40company.cn", headers=EN,
                       follow_redirects=True)
    assert "log in with your password" in other.get_data(as_text=True)
    assert provider.id


@pytest.mark.parametrize("query", ["", "provider=999999", "provider=abc"])
def test_unknown_choices_go_back_to_the_list(client, query):
    response = client.get(f"/sso/start?{query}", headers=EN, follow_redirects=True)
    assert response.status_code == 200
    assert "Choose your institution" in response.get_data(as_text=True)


def test_callbacks_of_unknown_or_disabled_providers_are_404(client, make):
    provider = _cas(make)
    provider.enabled = False
    db.session.flush()
    assert client.get(f"/sso/{provider.id}/cas?ticket=ST-1").status_code == 404
    assert client.get("/sso/999999/cas?ticket=ST-1").status_code == 404
    assert client.get(f"/sso/{_cas(make).id}/oidc").status_code == 404  # wrong kind


# --- linking ----------------------------------------------------------------------------------
def test_link_page_needs_a_pending_sign_in(client):
    assert client.get("/sso/link").headers["Location"] == "/sso"


def test_link_page_links_with_the_password(client, make):
    from booking.core.clock import now_utc

    provider = _cas(make)
    local = make.user(organisation=provider.organisation, email="li@dlut.edu.cn")
    with client.session_transaction() as session:
        session["sso_pending_link"] = {"provider_id": provider.id, "subject": "li",
                                       "email": "li@dlut.edu.cn", "name": "李四",
                                       "role": "member", "at": now_utc().timestamp()}
    page = client.get("/sso/link", headers=EN).get_data(as_text=True)
    assert "li@dlut.edu.cn" in page
    # reported: linking lowered a lab manager to member and renamed them, unannounced
    keeps = page[page.index('id="link-keeps"'):].split("</p>")[0]
    assert "keeps your name and your role here at every sign-in: 李四, member." in keeps
    wrong = client.post("/sso/link", data={"password": "nope-nope"}, headers=EN)
    assert "That is not the password of this account." in wrong.get_data(as_text=True)
    done = client.post("/sso/link", data={"password": make.PASSWORD})
    assert done.status_code == 302
    assert client.get("/tokens").status_code == 200
    assert local.name == "李四"


# --- the admin console ------------------------------------------------------------------------
@pytest.mark.parametrize("role, status", [(None, 302), ("member", 403), ("lab_manager", 403),
                                          ("bureau_staff", 403), ("admin", 200)])
@pytest.mark.parametrize("path", ["/admin/identity-providers", "/admin/identity-providers/new"])
def test_only_admins_configure_providers(client, login, make, role, status, path):
    if role:
        login(make.user(role=role))
    assert client.get(path).status_code == status


@pytest.mark.parametrize("role", ["member", "lab_manager", "bureau_staff"])
def test_others_cannot_post_provider_changes(client, login, make, role):
    provider = _cas(make)
    login(make.user(role=role))
    assert client.post(f"/admin/identity-providers/{provider.id}/edit",
                       data={"kind": "cas"}).status_code == 403
    assert client.post(f"/admin/identity-providers/{provider.id}/sync").status_code == 403


def _form(org, **fields):
    return {"organisation_id": org.id, "kind": "oidc", "enabled": "y", "label": "统一身份认证",
            "issuer": "https://id.dlut.example", "client_id": "booking",
            "secret_env": "SSO_DLUT_SECRET", "version": "3", "tls": "starttls",
            "role_rules_text": "groups=lab-managers -> lab_manager\ngroups=students -> student",
            "default_role": "member", "max_role": "lab_manager",
            "email_domains_text": "dlut.edu.cn, mail.dlut.edu.cn", **fields}


def test_admin_creates_and_edits_a_provider(client, login, make):
    login(make.user(role="admin", locale="en"))
    org = make.organisation()
    response = client.post("/admin/identity-providers/new", data=_form(org), headers=EN)
    assert response.status_code == 302, response.get_data(as_text=True)
    provider = db.session.scalar(select(IdentityProvider).where(
        IdentityProvider.organisation_id == org.id))
    assert provider.kind == "oidc" and provider.label == "统一身份认证"
    assert provider.settings["issuer"] == "https://id.dlut.example"
    assert provider.settings["client_id"] == "booking"
    assert provider.domains == ["dlut.edu.cn", "mail.dlut.edu.cn"]
    assert [r["role"] for r in provider.role_rules] == ["lab_manager", "student"]
    assert provider.secret_env == "SSO_DLUT_SECRET"
    listing = client.get("/admin/identity-providers", headers=EN).get_data(as_text=True)
    assert "missing" in listing  # the secret is not set in this environment
    edit = client.get(f"/admin/identity-providers/{provider.id}/edit").get_data(as_text=True)
    assert "groups=lab-managers -&gt; lab_manager" in edit
    # reported: the admin had to guess what to register with the institution's service
    assert f"<code>http://localhost/sso/{provider.id}/oidc</code>" in edit
    assert 'id="addresses-after-saving"' in client.get("/admin/identity-providers/new").get_data(
        as_text=True)
    changed = client.post(f"/admin/identity-providers/{provider.id}/edit",
                          data=_form(org, max_role="member", default_role="student"))
    assert changed.status_code == 302 and provider.max_role == "member"


@pytest.mark.parametrize("fields, message", [
    ({"issuer": ""}, "issuer is required"),
    ({"role_rules_text": "nonsense"}, "Line 1: write attribute=value"),
    ({"email_domains_text": "not a domain!"}, "is not an e-mail domain"),
    ({"default_role": "lab_manager", "max_role": "student"}, "must not be above"),
    ({"secret_env": "lower-case"}, "Capital letters"),
    ({"kind": "ldap", "url": "ldap://x"}, "needs a user DN template"),
])
def test_bad_provider_settings_are_refused_with_a_message(client, login, make, fields,
                                                          message):
    login(make.user(role="admin", locale="en"))
    response = client.post("/admin/identity-providers/new", data=_form(make.organisation(),
                                                                       **fields), headers=EN)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(IdentityProvider)) is None


def test_one_provider_per_institution_and_none_for_enterprises(client, login, make):
    login(make.user(role="admin", locale="en"))
    provider = _cas(make)
    twice = client.post("/admin/identity-providers/new", data=_form(provider.organisation),
                        headers=EN)
    assert "already has a sign-in provider" in twice.get_data(as_text=True)
    firm = make.organisation(kind="enterprise")
    refused = client.post("/admin/identity-providers/new", data=_form(firm), headers=EN)
    assert refused.status_code == 422  # not even offered as a choice


def test_admin_runs_the_sync_of_a_directory_that_is_down(client, login, make):
    from tests.servers import free_port

    login(make.user(role="admin", locale="en"))
    provider = create_provider("ldap", url=f"ldap://127.0.0.1:{free_port()}",
                               search_base="dc=x", service_dn="cn=s,dc=x")
    response = client.post(f"/admin/identity-providers/{provider.id}/sync", headers=EN,
                           follow_redirects=True)
    assert response.status_code == 200
    assert "cannot be reached just now" in response.get_data(as_text=True)


def test_an_email_domain_routes_to_one_institution_only(client, login, make):
    login(make.user(role="admin", locale="en"))
    _cas(make, email_domains="dlut.edu.cn")
    response = client.post("/admin/identity-providers/new", headers=EN,
                           data=_form(make.organisation(), email_domains_text="dlut.edu.cn"))
    assert response.status_code == 422
    assert "dlut.edu.cn already routes to another institution" in response.get_data(
        as_text=True)


def test_the_campus_sign_on_page(client, login, make):
    assert "No institution signs in here yet." in client.get("/sso", headers=EN).get_data(
        as_text=True)
    provider = _cas(make)
    page = client.get("/sso", headers=EN).get_data(as_text=True)
    assert f"/sso/start?provider={provider.id}" in page
    login(make.user(locale="en"))
    assert client.get("/sso").status_code == 302  # already signed in
