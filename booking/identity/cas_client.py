"""CAS 2.0 / 3.0 sign-in through python-cas: the login redirect, service-ticket validation
(`serviceValidate` or `p3/serviceValidate`, with attributes) and single-logout requests."""
import cas
import requests

from booking.core.problems import _l
from booking.identity.assertion import Assertion, TimeoutSession, refused, unreachable


def _client(provider, service_url: str):
    return cas.CASClient(version=int(provider.setting("version", "3")),
                         service_url=service_url,
                         server_url=provider.setting("server_url").rstrip("/") + "/",
                         session=TimeoutSession())


def login_url(provider, service_url: str) -> str:
    return _client(provider, service_url).get_login_url()


def logout_url(provider, return_url: str) -> str:
    return _client(provider, return_url).get_logout_url(return_url)


def validate(provider, service_url: str, ticket: str) -> Assertion:
    """The person a service ticket names. A bad, expired or replayed ticket is refused by the
    CAS server (tickets are single-use) and so here."""
    if not ticket or len(ticket) > 256:
        raise _bad_ticket()
    try:
        user, attributes, _pgt = _client(provider, service_url).verify_ticket(ticket)
    except requests.RequestException as exc:
        raise unreachable(provider) from exc
    except Exception as exc:  # python-cas lets the XML parser's errors through
        raise _bad_ticket() from exc
    if not user:
        raise _bad_ticket()
    attributes = attributes or {}
    return Assertion(subject=str(user), attributes=attributes, ticket=ticket,
                     email=_first(attributes, provider.setting("email_attribute")),
                     name=_first(attributes, provider.setting("name_attribute")))


def logged_out_ticket(logout_request: str) -> str | None:
    """The service ticket a CAS single-logout request ends (its SessionIndex), if any."""
    try:
        indexes = cas.CASClientV3.get_saml_slos(logout_request)
    except Exception:  # a malformed request ends nothing
        return None
    return indexes[0].text if indexes else None


def _first(attributes: dict, name: str) -> str:
    value = attributes.get(name)
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value or "").strip()


def _bad_ticket():
    return refused("bad_ticket", _l(
        "The sign-in ticket was not accepted (it may have been used already or expired). "
        "Please sign in again."))
