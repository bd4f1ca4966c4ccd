"""Bearer-token authentication for the API. Session cookies are not accepted here, so the API
needs no CSRF token and cannot be driven by a forged cross-site form."""
from functools import wraps

from flask import g, request

from booking.accounts.services import user_for_api_token
from booking.errors import api_abort


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def token_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        raw = bearer_token()
        if not raw:
            api_abort(401, "unauthorized", "Send 'Authorization: Bearer <token>'.")
        user = user_for_api_token(raw)
        if user is None:
            api_abort(401, "invalid_token", "The token is unknown, expired or revoked.")
        g.api_user = user
        return view(*args, **kwargs)

    return wrapped


def api_user():
    return g.api_user


def optional_api_user():
    """The token's user on a public endpoint that shows its owner more (None: anyone)."""
    raw = bearer_token()
    return user_for_api_token(raw) if raw else None


SECURITY = [{"bearerAuth": []}]
OPTIONAL_SECURITY = [{}, *SECURITY]  # OpenAPI: no token, or a bearer token
