"""One budget of sign-in attempts per account and one per address, shared by every way in:
the login page, API tokens, password resets and the kiosk. The counters live in the limiter's
storage (Redis in production), so they hold across workers and instances."""
from flask import current_app, request

from booking.accounts.rules import normalise_email
from booking.extensions import limiter


def _limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _account_key() -> str:
    """The e-mail address tried, from a form or a JSON body."""
    email = request.form.get("email")
    if email is None and request.is_json:
        body = request.get_json(silent=True)
        email = body.get("email") if isinstance(body, dict) else None
    return "account:" + normalise_email(str(email or ""))[:254]


per_address = limiter.shared_limit(_limit, scope="sign-in-address", methods=["POST"])
per_account = limiter.shared_limit(_limit, scope="sign-in-account", key_func=_account_key,
                                   methods=["POST"])


def limited(view):
    """Counts a POST against both budgets (429 once either is spent)."""
    return per_address(per_account(view))
