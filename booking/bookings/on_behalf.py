"""The lab books for someone who phoned in or walked in: a registered user found by e-mail or
name, or a walk-in registered on the spot. The booking, its invoice and its notices are the
user's; the audit names the lab's person who acted. The lab is the approver, so what it books
is approved at once."""
import secrets
from datetime import datetime

from sqlalchemy import select

from booking.accounts.models import Organisation, User
from booking.accounts.services import create_user, get_user_by_email
from booking.bookings import notifications
from booking.bookings.models import Booking
from booking.bookings.requests import create_booking, default_charge
from booking.core import audit
from booking.core.clock import now_utc
from booking.extensions import db
from booking.instruments.models import Instrument

MATCHES = 8
WALK_IN_KINDS = ("university", "institute", "enterprise")


def find_users(query: str) -> list[User]:
    """Active users with this e-mail, or whose name contains the text (at most MATCHES)."""
    text = (query or "").strip()
    if "@" in text:
        user = get_user_by_email(text)
        return [user] if user is not None and user.active else []
    if len(text) < 2:
        return []
    return list(db.session.scalars(select(User).where(
        User.active.is_(True), User.name.contains(text, autoescape=True))
        .order_by(User.name, User.id).limit(MATCHES)))


def walk_in_organisations() -> list[Organisation]:
    """Where a walk-in may be registered: verified organisations that book (not the bureau)."""
    return list(db.session.scalars(select(Organisation).where(
        Organisation.verified.is_(True), Organisation.kind.in_(WALK_IN_KINDS))
        .order_by(Organisation.name_zh)))


def register_walk_in(*, name: str, email: str, organisation: Organisation,
                     actor: User) -> User:
    """A member account with an unguessable password: the person claims it through "forgot
    password" (the notice says so). Audited with the lab's person as the actor. A member of
    the lab's own organisation is confirmed; of another, only once that organisation confirms
    it (a lab cannot make someone a member of a firm, and so a user of its vouchers)."""
    user = create_user(email=email, password=secrets.token_urlsafe(32), name=name,
                       organisation=organisation, actor=actor,
                       confirmed=organisation.id == actor.organisation_id)
    user.invited_at = now_utc()  # the console may send them a link again
    notifications.notify_registered_by_lab(user, actor)
    return user


def book_for(instrument: Instrument, user: User, actor: User, *, start: datetime,
             end: datetime, mode: str, purpose: str, samples: int = 0,
             charge_project: bool = True) -> Booking:
    """Approved at once by `actor` (the lab is not asked to approve its own booking), unless
    the user's default project (charged, with `charge_project`) wants its PI's approval
    first: the lab does not spend a group's money for its PI."""
    project, fee = default_charge(instrument, user, start, end, mode, samples) \
        if charge_project else (None, 0)
    booking = create_booking(instrument, user, start=start, end=end, mode=mode,
                             purpose=purpose, samples=samples, project=project, fee_fen=fee,
                             booked_by=actor)
    audit.record("booking.booked_for", actor=actor, obj=booking, user_id=user.id)
    return booking
