"""OpenID Connect sign-in against the real oidc-provider server (tests/servers)."""
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from freezegun import freeze_time
from sqlalchemy import select

from booking.accounts.models import User
from booking.core.clock import now_utc
from booking.extensions import db
from booking.identity import oidc_client
from booking.identity.assertion import SignOnRefused
from tests.factories.identity import create_provider, oidc_provider
from tests.servers import OIDC_CLIENTS, free_port
from tests.servers.flows import oidc_login

EN = {"Accept-Language": "en"}


def _callback(client, provider, login):
    start = client.get(f"/sso/start?provider={provider.id}")
    assert start.status_code == 302
    return oidc_login(start.headers["Location"], login)


def _path(url):
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_authorization_uses_pkce_and_a_nonce(client, oidc_server):
    provider = oidc_provider(oidc_server)
    location = client.get(f"/sso/start?provider={provider.id}").headers["Location"]
    query = parse_qs(urlsplit(location).query)
    assert location.startswith(oidc_server.issuer + "/auth?")
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]
    assert query["nonce"] and query["state"]
    assert query["redirect_uri"] == [f"http://localhost/sso/{provider.id}/oidc"]


def test_researcher_signs_in_and_gets_the_mapped_role(client, oidc_server):
    provider = oidc_provider(oidc_server)
    response = client.get(_path(_callback(client, provider, "oidc.researcher")))
    assert response.status_code == 302 and response.headers["Location"] == "/"
    user = db.session.scalar(select(User).where(
        User.email == "oidc.researcher@oidc.example.org"))
    assert user.organisation_id == provider.organisation_id
    assert user.role_names() == ["member"] and user.name == "Zhou Yanjiu"


def test_a_replayed_callback_is_refused(client, oidc_server):
    provider = oidc_provider(oidc_server)
    callback = _path(_callback(client, provider, "oidc.researcher"))
    assert client.get(callback).status_code == 302
    client.post("/logout")
    again = client.get(callback, headers=EN, follow_redirects=True)
    assert "could not be verified" in again.get_data(as_text=True)


def test_an_expired_id_token_is_refused(client, oidc_server):
    provider = oidc_provider(oidc_server)
    callback = _path(_callback(client, provider, "oidc.researcher"))
    # the ID token lives an hour: our clock two hours on finds it expired
    with freeze_time(now_utc() + timedelta(hours=2)):
        response = client.get(callback, headers=EN, follow_redirects=True)
    assert "has expired" in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(
        User.email == "oidc.researcher@oidc.example.org")) is None


def _token_for_client_b(oidc_server, nonce):
    """A real token response of the provider, for the other client (booking-b)."""
    client_b = OIDC_CLIENTS[1]
    redirect = "http://localhost/sso/99/oidc"
    session = OAuth2Session(client_b["client_id"], client_b["client_secret"],
                            scope="openid email", redirect_uri=redirect)
    verifier = generate_token(48)
    meta = requests.get(oidc_server.issuer + "/.well-known/openid-configuration",
                        timeout=10).json()
    url, _state = session.create_authorization_url(
        meta["authorization_endpoint"], nonce=nonce, code_challenge_method="S256",
        code_challenge=create_s256_code_challenge(verifier))
    code = parse_qs(urlsplit(oidc_login(url, "oidc.researcher")).query)["code"][0]
    return session.fetch_token(meta["token_endpoint"], code=code, code_verifier=verifier)


def test_an_id_token_for_another_client_is_refused(app, oidc_server):
    provider = oidc_provider(oidc_server)  # expects booking-a
    token = _token_for_client_b(oidc_server, nonce="n-0S6_WzA2Mj")
    with app.test_request_context(), pytest.raises(SignOnRefused) as refused:
        oidc_client.claims_of(provider, token, nonce="n-0S6_WzA2Mj")
    assert refused.value.code == "wrong_audience"


def test_a_wrong_nonce_is_refused(app, oidc_server):
    provider = oidc_provider(oidc_server, client=1)
    token = _token_for_client_b(oidc_server, nonce="the-real-one")
    with app.test_request_context(), pytest.raises(SignOnRefused) as refused:
        oidc_client.claims_of(provider, token, nonce="another-one")
    assert refused.value.code == "invalid_answer"
    with app.test_request_context():
        assert oidc_client.claims_of(provider, token, nonce="the-real-one")["sub"] == \
            "oidc.researcher"


def test_provider_down_gives_a_clear_message_not_a_500(client, make):
    provider = create_provider("oidc", issuer=f"http://127.0.0.1:{free_port()}",
                               client_id="x")
    response = client.get(f"/sso/start?provider={provider.id}", headers=EN,
                          follow_redirects=True)
    assert response.status_code == 200
    assert "cannot be reached just now" in response.get_data(as_text=True)


def test_a_denied_authorization_is_refused(client, oidc_server):
    provider = oidc_provider(oidc_server)
    client.get(f"/sso/start?provider={provider.id}")
    response = client.get(f"/sso/{provider.id}/oidc?error=access_denied&state=x", headers=EN,
                          follow_redirects=True)
    assert response.status_code == 200
    assert "Sign-in was cancelled" in response.get_data(as_text=True)


def test_an_unverified_email_creates_no_account(client, oidc_server):
    provider = oidc_provider(oidc_server)
    response = client.get(_path(_callback(client, provider, "oidc.unverified")), headers=EN,
                          follow_redirects=True)
    assert "did not tell us your e-mail address" in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(
        User.email == "oidc.unverified@oidc.example.org")) is None


def test_an_answer_naming_another_issuer_is_refused(client, oidc_server):
    """Reported: a callback with iss=http://evil.example added was accepted (RFC 9207: the
    provider's own name on the way back must be the one we sent the person to)."""
    provider = oidc_provider(oidc_server)
    callback = _path(_callback(client, provider, "oidc.researcher"))
    returned = parse_qs(urlsplit(callback).query).get("iss")
    if returned:  # the server names itself: it is the one we sent the person to
        assert returned == [oidc_server.issuer]
        callback = callback.replace("iss=", "was=")
    refused = client.get(callback + "&iss=http%3A%2F%2Fevil.example", headers=EN,
                         follow_redirects=True).get_data(as_text=True)
    assert "could not be verified" in refused and client.get("/tokens").status_code == 302
    callback = _path(_callback(client, provider, "oidc.researcher"))  # its own: accepted
    assert client.get(callback).status_code == 302 and client.get("/tokens").status_code == 200
