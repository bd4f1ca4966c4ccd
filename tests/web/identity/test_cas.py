"""CAS sign-in against the real django-mama-cas server (tests/servers)."""
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from booking.accounts.models import User
from booking.core.audit import AuditEvent
from booking.extensions import db
from booking.identity.models import ExternalIdentity
from tests.factories.identity import cas_provider
from tests.servers import free_port
from tests.servers.flows import cas_return

EN = {"Accept-Language": "en"}


def _login_url(client, provider) -> str:
    response = client.get(f"/sso/start?provider={provider.id}")
    assert response.status_code == 302
    return response.headers["Location"]


def _sign_in(client, provider, username):
    return client.get(cas_return(_login_url(client, provider), username), headers=EN)


def test_student_first_sign_in_creates_the_account_in_the_providers_organisation(
        client, cas_server):
    provider = cas_provider(cas_server)
    login = _login_url(client, provider)
    assert login.startswith(cas_server.url + "/login?service=")
    service = parse_qs(urlsplit(login).query)["service"][0]
    assert service.startswith(f"http://localhost/sso/{provider.id}/cas?state=")

    response = client.get(cas_return(login, "cas.student"))

    assert response.status_code == 302 and response.headers["Location"] == "/"
    user = db.session.scalar(select(User).where(User.email == "cas.student@cas.example.edu"))
    assert user.organisation_id == provider.organisation_id
    assert user.role_names() == ["student"]
    assert user.name == "Xiaoming Zhang" and user.membership_confirmed
    identity = db.session.scalar(select(ExternalIdentity).where(
        ExternalIdentity.user_id == user.id))
    assert (identity.provider_id, identity.subject) == (provider.id, "cas.student")
    assert client.get("/tokens").status_code == 200  # signed in: API tokens as today


def test_an_account_made_from_an_english_browser_speaks_english(client, cas_server):
    """Reported: 'Welcome, Li Guanli' came in Chinese to a browser asking for English, and
    the account kept Chinese for ever."""
    provider = cas_provider(cas_server)
    assert _sign_in(client, provider, "cas.student").status_code == 302  # _sign_in: English
    user = db.session.scalar(select(User).where(User.email == "cas.student@cas.example.edu"))
    assert user.locale == "en"


def test_role_follows_the_mapping_capped_by_the_admins_ceiling(client, cas_server):
    provider = cas_provider(cas_server, max_role="member")  # faculty would be lab_manager
    assert _sign_in(client, provider, "cas.staff").status_code == 302
    user = db.session.scalar(select(User).where(User.email == "cas.staff@cas.example.edu"))
    assert user.role_names() == ["member"]


def test_later_sign_ins_refresh_name_and_role(client, cas_server):
    provider = cas_provider(cas_server, max_role="member")
    _sign_in(client, provider, "cas.staff")
    user = db.session.scalar(select(User).where(User.email == "cas.staff@cas.example.edu"))
    user.name = "Old name"
    provider.max_role = "lab_manager"
    db.session.flush()
    client.post("/logout")
    assert _sign_in(client, provider, "cas.staff").status_code == 302
    db.session.refresh(user)
    assert user.name == "Wei Liu" and user.role_names() == ["lab_manager"]


def _state(login_url: str) -> str:
    return parse_qs(urlsplit(parse_qs(urlsplit(login_url).query)["service"][0]).query)["state"][0]


def test_a_bad_ticket_is_refused_with_a_message(client, cas_server):
    provider = cas_provider(cas_server)
    state = _state(_login_url(client, provider))
    response = client.get(f"/sso/{provider.id}/cas?state={state}&ticket=ST-not-a-real-ticket",
                          headers=EN, follow_redirects=True)
    assert response.status_code == 200
    assert "The sign-in ticket was not accepted" in response.get_data(as_text=True)
    assert client.get("/tokens").status_code == 302  # not signed in


def test_a_replayed_ticket_is_refused(client, cas_server):
    provider = cas_provider(cas_server)
    back = cas_return(_login_url(client, provider), "cas.student")
    assert client.get(back).status_code == 302
    client.post("/logout")
    login = _login_url(client, provider)  # a sign-in of this browser: only the ticket is old
    ticket = parse_qs(urlsplit(back).query)["ticket"][0]
    again = client.get(f"/sso/{provider.id}/cas?state={_state(login)}&ticket={ticket}",
                       headers=EN, follow_redirects=True)
    assert "The sign-in ticket was not accepted" in again.get_data(as_text=True)
    assert client.get("/tokens").status_code == 302


def test_provider_down_gives_a_clear_message_not_a_500(client, make):
    from tests.factories.identity import create_provider

    provider = create_provider("cas", server_url=f"http://127.0.0.1:{free_port()}/cas")
    state = _state(_login_url(client, provider))
    response = client.get(f"/sso/{provider.id}/cas?state={state}&ticket=ST-1-abc", headers=EN,
                          follow_redirects=True)
    assert response.status_code == 200
    assert "cannot be reached just now" in response.get_data(as_text=True)


def test_a_leaver_is_refused_and_deactivated(client, cas_server):
    provider = cas_provider(cas_server)
    _sign_in(client, provider, "cas.student")
    client.post("/logout")
    # the same subject comes back as an alumnus: the account is switched off
    identity = db.session.scalar(select(ExternalIdentity).where(
        ExternalIdentity.provider_id == provider.id))
    identity.subject = "cas.alum"
    db.session.flush()
    response = _sign_in(client, provider, "cas.alum")
    assert response.status_code == 302 and "/sso" in response.headers["Location"]
    assert identity.user.active is False
    assert db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "user.deactivated", AuditEvent.object_id == identity.user_id))


LOGOUT_REQUEST = """<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"
 xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="LR-1" Version="2.0"
 IssueInstant="2026-12-04T10:00:00Z"><saml:NameID>cas.student</saml:NameID>
 <samlp:SessionIndex>{ticket}</samlp:SessionIndex></samlp:LogoutRequest>"""


def test_single_logout_ends_the_session(client, cas_server):
    provider = cas_provider(cas_server)
    back = cas_return(_login_url(client, provider), "cas.student")
    ticket = parse_qs(urlsplit(back).query)["ticket"][0]
    client.get(back)
    assert client.get("/tokens").status_code == 200
    other = client.application.test_client()  # the CAS server, not the browser
    assert other.post(f"/sso/{provider.id}/cas", data={
        "logoutRequest": LOGOUT_REQUEST.format(ticket="ST-unknown")}).status_code == 204
    assert client.get("/tokens").status_code == 200  # another ticket ends nothing
    assert other.post(f"/sso/{provider.id}/cas", data={
        "logoutRequest": LOGOUT_REQUEST.format(ticket=ticket)}).status_code == 204
    assert client.get("/tokens").status_code == 302  # signed out here too
    assert other.post(f"/sso/{provider.id}/cas", data={"logoutRequest": "<not xml"}
                      ).status_code == 400


def test_a_signed_in_user_links_their_campus_sign_in_once(client, login, make, cas_server):
    provider = cas_provider(cas_server)
    local = login(make.user(organisation=provider.organisation, email="zhang@old-mail.cn",
                            locale="en"))
    profile = client.get("/profile", headers=EN).get_data(as_text=True)
    assert "Link my campus sign-in" in profile
    start = client.post("/sso/link-account")
    done = client.get(cas_return(start.headers["Location"], "cas.student"))
    assert done.headers["Location"] == "/profile"
    identity = db.session.scalar(select(ExternalIdentity).where(
        ExternalIdentity.provider_id == provider.id))
    assert identity.user_id == local.id and identity.subject == "cas.student"
    assert db.session.scalar(select(User).where(
        User.email == "cas.student@cas.example.edu")).id == local.id  # no second account
    assert "Linked to the sign-in of" in client.get("/profile", headers=EN).get_data(
        as_text=True)
    client.post("/logout")
    assert _sign_in(client, provider, "cas.student").headers["Location"] == "/"
    assert client.get("/profile", headers=EN).get_data(as_text=True).count(local.name) >= 1


def test_linking_is_only_offered_inside_the_providers_organisation(client, login, make,
                                                                    cas_server):
    cas_provider(cas_server)
    login(make.user())  # another organisation, without a provider
    assert "Link my campus sign-in" not in client.get("/profile", headers=EN).get_data(
        as_text=True)
    assert client.post("/sso/link-account").status_code == 404
    client.post("/logout")
    assert client.post("/sso/link-account").status_code == 302  # anonymous: to the login


def test_a_ticket_comes_back_only_to_the_browser_that_went_for_it(client, cas_server):
    """Reported: a ticket someone got for this site signed in any browser that followed a
    link with it, so an attacker could sign a victim in as the attacker."""
    provider = cas_provider(cas_server)
    back = cas_return(_login_url(client, provider), "cas.student")  # the attacker's
    victim = client.application.test_client()
    refused = victim.get(back, headers=EN, follow_redirects=True).get_data(as_text=True)
    assert "was not started in this browser" in refused
    assert victim.get("/tokens").status_code == 302
    victim.get(f"/sso/start?provider={provider.id}")  # one of the victim's own, under way
    assert victim.get(back).status_code == 302 and victim.get("/tokens").status_code == 302
    assert client.get(back).status_code == 302 and client.get("/tokens").status_code == 200


def test_a_campus_account_does_not_sign_in_with_a_password(client, cas_server):
    """Reported: a person made by CAS set a password through 'forgot password' and signed in
    with it ever after, past the leaver check only the campus sign-on makes."""
    provider = cas_provider(cas_server)
    _sign_in(client, provider, "cas.student")
    client.post("/logout")
    user = db.session.scalar(select(User).where(User.email == "cas.student@cas.example.edu"))
    user.set_password("a-password-set-by-reset")
    db.session.commit()
    page = client.post("/login", headers=EN, data={
        "email": user.email, "password": "a-password-set-by-reset"}).get_data(as_text=True)
    assert "signs in through" in page and "choose it under campus sign-on" in page
    assert client.get("/tokens").status_code == 302  # not signed in
    token = client.post("/api/v1/tokens", json={"email": user.email, "name": "x",
                                                "password": "a-password-set-by-reset"})
    assert token.status_code == 403 and token.json["error"]["code"] == "campus_sign_on"
    wrong = client.post("/login", headers=EN, data={"email": user.email, "password": "wrong"})
    assert "Wrong e-mail or password." in wrong.get_data(as_text=True)  # says nothing more
    assert _sign_in(client, provider, "cas.student").status_code == 302  # the campus way


def test_logging_out_ends_the_cas_sign_in_too(client, cas_server):
    """Reported: after 'log out' the next person at a shared PC clicked the university and
    was signed straight in as the last one (the CAS server's session lived on)."""
    provider = cas_provider(cas_server)
    _sign_in(client, provider, "cas.student")
    response = client.post("/logout", headers=EN)
    page = response.get_data(as_text=True)
    # a form's answer: off the site by a page that moves on (form-action 'self')
    assert response.status_code == 200 and 'id="moving-on"' in page
    leave = page.split('http-equiv="refresh" content="0; url=')[1].split('"')[0]
    assert leave.startswith(cas_server.url + "/logout?service=http") and "localhost" in leave
    assert client.get("/tokens").status_code == 302  # signed out here
    with client.session_transaction() as session:
        assert "sso_signed_on" not in session


def test_a_password_session_logs_out_at_home(client, login, make):
    login(make.user())
    response = client.post("/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_a_refusal_names_the_institution_in_the_reader_s_language(client, make, cas_server):
    """Reported: 'CAS测试大学 says you are no longer…' on English pages."""
    org = make.organisation(name_zh="统一认证测试大学", name_en="Sign-on Test University")
    provider = cas_provider(cas_server, org)
    def refusal(headers):
        page = client.get(cas_return(_login_url(client, provider), "cas.alum"), headers=headers,
                          follow_redirects=True).get_data(as_text=True)
        return page[page.index("alert-danger"):].split("</div>")[0]

    english = refusal(EN)
    assert "Sign-on Test University" in english and "统一认证测试大学" not in english
    assert "统一认证测试大学" in refusal({})  # the Chinese reader's


def test_a_refused_sign_in_is_in_the_server_log(client, make, caplog, monkeypatch):
    """Reported: a provider set up wrong failed quietly; nothing told the administrator."""
    from tests.factories.identity import create_provider

    # (alembic's logging set-up, run by the test database's migrations, disables it)
    monkeypatch.setattr(client.application.logger, "disabled", False)
    provider = create_provider("cas", server_url=f"http://127.0.0.1:{free_port()}/cas")
    state = _state(_login_url(client, provider))
    client.get(f"/sso/{provider.id}/cas?state={state}&ticket=ST-1-abc")
    assert any(f"provider {provider.id} refused (provider_unreachable)" in r.getMessage()
               for r in caplog.records)
