"""Deactivating and re-activating a person. A deactivated user cannot log in (Flask-Login
refuses inactive users), their API tokens stop working (`user_for_api_token` checks `active`),
and their future bookings are cancelled with a notice (the bookings area, through the
`user_deactivated` signal: accounts imports no area above it). Flushes, never commits."""
from sqlalchemy import func, or_, select

from booking.accounts.models import Role, User
from booking.accounts.signals import user_deactivated
from booking.core import audit
from booking.core.problems import Problem, Refused, _l
from booking.extensions import db


class DeactivationError(Refused):
    pass


def other_active_admins(user: User) -> int:
    """Active admins besides `user` who can administer: not one invited who has yet to
    choose a password (the link may never be used, and lapses)."""
    return db.session.scalar(
        select(func.count(func.distinct(User.id))).join(Role, Role.user_id == User.id)
        .where(Role.name == "admin", User.active.is_(True), User.id != user.id,
               or_(User.invited_at.is_(None), User.last_login_at.is_not(None)))) or 0


def deactivate_user(user: User, *, actor: User | None, reason: str) -> int:
    """Deactivate `user`; returns the number of their future bookings cancelled.
    The last active admin cannot be deactivated (nobody could administer the platform)."""
    reason = (reason or "").strip()[:500]
    if not user.active:
        return 0
    if user.is_admin and not other_active_admins(user):
        raise DeactivationError(Problem("last_admin", _l(
            "The last active administrator cannot be deactivated.")))
    user.active = False
    audit.record("user.deactivated", actor=actor, obj=user, reason=reason,
                 before={"active": True}, after={"active": False})
    db.session.flush()
    results = user_deactivated.send(user, actor=actor, reason=reason)
    return sum(count or 0 for _receiver, count in results)


def reactivate_user(user: User, *, actor: User | None) -> None:
    """Revive an account; not one of a deactivated organisation (re-activate it first), or
    its lab could publish and run instruments again for an institution that left."""
    if user.active:
        return
    if not user.organisation.active:
        raise DeactivationError(Problem("organisation_inactive", _l(
            "%(org)s is deactivated: re-activate the organisation first."),
            {"org": user.organisation.name_zh}))
    user.active = True
    audit.record("user.reactivated", actor=actor, obj=user,
                 before={"active": False}, after={"active": True})
