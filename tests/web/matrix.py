"""Helpers of the permission matrices (role × state × action): who acts, and what a request
left behind (messages queued, audit rows written, flashes shown)."""
from dataclasses import dataclass

from sqlalchemy import func, select

from booking.core.audit import AuditEvent
from booking.core.notifications import OutboxMessage
from booking.extensions import db

#: a page answers an anonymous visitor with a redirect to the login form
LOGIN = "login"
#: the role may ask; the object's state decides whether the action happens
ACTS = "acts"


@dataclass(frozen=True)
class Action:
    """One request of a matrix and who may make it."""

    method: str
    path: str  # with {id} for the object
    body: dict | None
    #: per role, in the order of the matrix's ROLES: the refusal it gets (a status or LOGIN),
    #: ACTS, or what the matrix defines for lists
    access: tuple
    #: the states an ACTS role moves the object out of (a dict: state -> new state)
    moves: dict | frozenset = frozenset()
    done: int = 302  # status when the object moved
    refused: int | None = 302  # status when the role may act but the state forbids it
    draft: tuple | None = None  # what a draft answers each role, where drafts are hidden


def messages_queued() -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxMessage))


def audit_rows() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent))


def audit_actions(obj) -> list[str]:
    """The audit trail of one object, oldest first."""
    return list(db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_type == type(obj).__name__,
                                        AuditEvent.object_id == obj.id)
        .order_by(AuditEvent.id)))


def forget_flashes(client) -> None:
    """Drop what was flashed so far (logging in flashes too)."""
    with client.session_transaction() as session:
        session.pop("_flashes", None)


def flash_categories(client) -> list[str]:
    """Categories of the messages flashed since forget_flashes (and not shown yet)."""
    with client.session_transaction() as session:
        return [category for category, _message in session.get("_flashes", [])]


def assert_status(response, expected) -> None:
    """`expected` is a status code, or LOGIN for a redirect to the login form."""
    if expected == LOGIN:
        assert response.status_code == 302, response.status_code
        assert "/login" in response.headers["Location"], response.headers["Location"]
    else:
        assert response.status_code == expected, (response.status_code,
                                                  response.get_data(as_text=True)[:300])


def sign_in(client, login, api_token, actor, api: bool) -> dict:
    """Be `actor` (None: anonymous) for the next request: the headers of a bearer token for
    the API, a session (with what logging in flashed forgotten) for pages."""
    if actor is None:
        return {}
    if api:
        return api_token(actor)
    login(actor)
    forget_flashes(client)
    return {}


def send(client, method: str, path: str, body, headers: dict, api: bool):
    """The action's request: JSON for the API, form data for pages."""
    if api:
        return client.open(path, method=method, json=body, headers=headers)
    return client.open(path, method=method, data=body)
