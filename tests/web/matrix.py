"""Helpers of the permission matrices (role × state × action): who acts, and what a request
left behind (messages queued, audit rows written, flashes shown)."""
from sqlalchemy import func, select

from booking.core.audit import AuditEvent
from booking.core.notifications import OutboxMessage
from booking.extensions import db

#: a page answers an anonymous visitor with a redirect to the login form
LOGIN = "login"
#: the role may ask; the object's state decides whether the action happens
ACTS = "acts"


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
