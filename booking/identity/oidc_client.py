"""OpenID Connect sign-in through Authlib's Flask client: discovery, the authorization code
flow with PKCE (S256), and ID-token validation (signature by the provider's published keys,
issuer, audience, expiry, nonce; the state, nonce and code verifier wait in the session)."""
import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import FlaskIntegration
from authlib.integrations.flask_client.apps import FlaskOAuth2App
from flask import request
from joserfc.errors import JoseError

from booking.core.problems import _l
from booking.identity.assertion import (
    PROVIDER_TIMEOUT,
    Assertion,
    provider_secret,
    refused,
    unreachable,
)

DEFAULT_SCOPES = "openid email profile"


def _client(provider) -> FlaskOAuth2App:
    name = f"idp{provider.id}"
    secret = provider_secret(provider)
    issuer = provider.setting("issuer").rstrip("/")
    return FlaskOAuth2App(
        FlaskIntegration(name), name, client_id=provider.setting("client_id"),
        client_secret=secret or None,
        server_metadata_url=issuer + "/.well-known/openid-configuration",
        client_kwargs={"scope": provider.setting("scopes") or DEFAULT_SCOPES,
                       "code_challenge_method": "S256", "timeout": PROVIDER_TIMEOUT,
                       "token_endpoint_auth_method":
                           "client_secret_basic" if secret else "none"})


def authorize_redirect(provider, redirect_uri: str):
    """The redirect to the provider's login; state, nonce and PKCE verifier are kept in the
    session for the callback."""
    try:
        return _client(provider).authorize_redirect(redirect_uri)
    except (requests.RequestException, ValueError, KeyError, RuntimeError) as exc:
        raise unreachable(provider) from exc


def complete(provider) -> Assertion:
    """The person the provider's answer (on the callback request) names, once the code is
    exchanged and the ID token validated."""
    client = _client(provider)
    try:
        _check_issuer(client, request.args.get("iss"))
        token = client.authorize_access_token()
        claims = dict(token.get("userinfo") or {})
        if not claims.get("sub"):
            raise _invalid()
        claims = _with_userinfo(client, token, claims)
    except requests.RequestException as exc:
        raise unreachable(provider) from exc
    except (AuthlibBaseError, JoseError) as exc:
        raise _refusal(exc) from exc
    email = str(claims.get(provider.setting("email_attribute")) or "").strip()
    if claims.get("email_verified") is False:
        email = ""  # an address the provider has not verified proves nothing
    return Assertion(subject=str(claims["sub"]), attributes=claims, email=email,
                     name=str(claims.get(provider.setting("name_attribute")) or "").strip())


def _check_issuer(client, returned: str | None) -> None:
    """RFC 9207: a provider that names itself on the way back must be the one we sent the
    person to (else an answer meant for another provider is being played to us)."""
    if returned is not None and returned != client.load_server_metadata().get("issuer"):
        raise _invalid()


def claims_of(provider, token: dict, nonce: str) -> dict:
    """Validate a token response's ID token for this provider (what `complete` does after the
    code exchange); for checking tokens minted elsewhere."""
    try:
        return dict(_client(provider).parse_id_token(token, nonce=nonce))
    except requests.RequestException as exc:
        raise unreachable(provider) from exc
    except (AuthlibBaseError, JoseError) as exc:
        raise _refusal(exc) from exc


def _with_userinfo(client, token: dict, claims: dict) -> dict:
    """Profile claims (e-mail, name, groups) that the provider serves at its userinfo endpoint
    rather than in the ID token; only when they are about the same subject."""
    if not client.load_server_metadata().get("userinfo_endpoint"):
        return claims
    info = client.userinfo(token=token)
    if str(info.get("sub")) == str(claims["sub"]):
        return {**info, **claims}
    return claims


def _refusal(exc: Exception):
    kind = type(exc).__name__
    if kind == "ExpiredTokenError":
        return refused("token_expired", _l(
            "The sign-in answer from your institution has expired. Please sign in again."))
    claim = getattr(exc, "claim_name", "") or getattr(exc, "claim", "")
    if claim in ("aud", "azp"):  # not for us (azp: several audiences, or another party's)
        return refused("wrong_audience", _l(
            "The sign-in answer was issued for another service, not for this site."))
    if getattr(exc, "error", "") == "access_denied":
        return refused("access_denied", _l("Sign-in was cancelled at your institution."))
    return _invalid()


def _invalid():
    return refused("invalid_answer", _l(
        "The answer from your institution's sign-in service could not be verified. Please "
        "sign in again."))
