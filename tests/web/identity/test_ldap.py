"""LDAP sign-in against a private slapd (tests/servers): search-then-bind with a service
account, bind as the user, StartTLS and LDAPS."""
import pytest
from sqlalchemy import select

from booking.accounts.models import User
from booking.extensions import db
from tests.factories.identity import create_provider, ldap_provider
from tests.servers import LDAP_PASSWORD, free_port

EN = {"Accept-Language": "en"}


def _post(client, provider, username, password=LDAP_PASSWORD):
    return client.post(f"/sso/{provider.id}/ldap", headers=EN,
                       data={"username": username, "password": password})


def test_start_leads_to_the_directory_login_form(client, ldap_server):
    provider = ldap_provider(ldap_server)
    response = client.get(f"/sso/start?provider={provider.id}")
    assert response.headers["Location"] == f"/sso/{provider.id}/ldap"
    assert client.get(f"/sso/{provider.id}/ldap").status_code == 200


def test_manager_signs_in_by_search_then_bind(client, ldap_server):
    provider = ldap_provider(ldap_server)
    response = _post(client, provider, "ldap.manager")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    user = db.session.scalar(select(User).where(User.email == "ldap.manager@campus.example"))
    assert user.organisation_id == provider.organisation_id
    assert user.role_names() == ["lab_manager"] and user.name == "Li Guanli"


@pytest.mark.parametrize("tls", ["starttls", "ldaps"])
def test_bind_as_the_user_over_tls(client, ldap_server, tls):
    url = ldap_server.ldaps_url if tls == "ldaps" else ldap_server.url
    provider = ldap_provider(ldap_server, url=url, tls=tls, ca_file=ldap_server.ca_file,
                             search_base="", service_dn="", secret_env="",
                             user_dn_template="uid={username}," + ldap_server.people)
    assert _post(client, provider, "ldap.student").status_code == 302
    user = db.session.scalar(select(User).where(User.email == "ldap.student@campus.example"))
    assert user.role_names() == ["student"]


def test_tls_with_an_untrusted_certificate_is_refused(client, ldap_server):
    provider = ldap_provider(ldap_server, url=ldap_server.ldaps_url, tls="ldaps")  # no CA file
    response = _post(client, provider, "ldap.member")
    assert response.status_code == 200
    assert "cannot be reached just now" in response.get_data(as_text=True)


@pytest.mark.parametrize("username, password", [
    ("ldap.member", "wrong-password"), ("nobody.here", LDAP_PASSWORD),
    ("ldap.member", " "), ("*", LDAP_PASSWORD), ("ldap.member)(uid=*", LDAP_PASSWORD)])
def test_wrong_credentials_are_refused(client, ldap_server, username, password):
    provider = ldap_provider(ldap_server)
    response = _post(client, provider, username, password)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Wrong user name or password." in body or "This field is required." in body
    assert client.get("/tokens").status_code == 302


def test_directory_down_gives_a_clear_message_not_a_500(client, make):
    provider = create_provider("ldap", url=f"ldap://127.0.0.1:{free_port()}",
                               user_dn_template="uid={username},dc=x")
    response = _post(client, provider, "someone", "some-password")
    assert response.status_code == 200
    assert "cannot be reached just now" in response.get_data(as_text=True)


def test_a_user_deactivated_here_cannot_sign_in(client, ldap_server):
    provider = ldap_provider(ldap_server)
    _post(client, provider, "ldap.member")
    user = db.session.scalar(select(User).where(User.email == "ldap.member@campus.example"))
    user.active = False
    db.session.flush()
    client.post("/logout")
    response = _post(client, provider, "ldap.member")
    assert "Your account here is deactivated." in response.get_data(as_text=True)
