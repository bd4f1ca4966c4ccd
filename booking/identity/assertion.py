"""What a provider asserts about a person, and why a sign-in was refused."""
import os
from dataclasses import dataclass, field

import requests
from flask import current_app

from booking.core.names import ReadersName
from booking.core.problems import Problem, Refused, _l

#: seconds we wait for a provider's server (a hung CAS server must not hang a worker)
PROVIDER_TIMEOUT = 10


@dataclass
class Assertion:
    """A person as a provider described them. `subject` is the provider's stable id for them
    (CAS user, OIDC `sub`, LDAP entryUUID)."""

    subject: str
    email: str = ""
    name: str = ""
    attributes: dict = field(default_factory=dict)
    #: the CAS service ticket that proved it (single logout names it later)
    ticket: str = ""


class SignOnRefused(Refused):
    """A sign-in through a provider did not go through; the message says why, for a person."""

    status = 401
    api_code = "sign_on_refused"


def refused(code: str, template: str, **params) -> SignOnRefused:
    return SignOnRefused(Problem(code, template, params))


def unreachable(provider) -> SignOnRefused:
    return refused("provider_unreachable", _l(
        "The sign-in service of %(org)s cannot be reached just now. Please try again in a few "
        "minutes, or ask its IT helpdesk."), org=ReadersName(provider.organisation))


def provider_secret(provider) -> str:
    """The provider's secret (OIDC client secret, LDAP service password), from the SSO_SECRETS
    config mapping or else the environment variable the provider names; never from the
    database."""
    name = provider.secret_env
    if not name:
        return ""
    configured = current_app.config.get("SSO_SECRETS") or {}
    return configured.get(name) or os.environ.get(name, "")


class TimeoutSession(requests.Session):
    """A requests session that never waits forever (python-cas passes no timeout)."""

    def request(self, *args, **kwargs):
        kwargs.setdefault("timeout", PROVIDER_TIMEOUT)
        return super().request(*args, **kwargs)
