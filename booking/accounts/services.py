"""Account workflows. They flush, never commit: the route commits once."""
import secrets
from datetime import timedelta
from functools import cache

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import bindparam, select
from werkzeug.security import check_password_hash, generate_password_hash

from booking.accounts import notifications, signals
from booking.accounts.models import (
    ApiToken,
    Organisation,
    Role,
    User,
    hash_token,
    token_usable,
)
from booking.accounts.rules import (
    grantable_roles,
    normalise_credit_code,
    normalise_email,
    roles_for_organisation,
)
from booking.core import audit
from booking.core.clock import now_utc
from booking.core.db import id_in
from booking.core.problems import Problem, Refused, _l
from booking.core.reads import attach_loaded
from booking.extensions import db

RESET_MAX_AGE = timedelta(hours=2)
INVITATION_MAX_AGE = timedelta(days=7)  # an invited person may be away for a few days


class AccountError(Refused):
    """A workflow refused before changing anything; `field` is the form field it is about."""

    def __init__(self, code: str, message: str, field: str = "email", **params):
        super().__init__(Problem(code, message, params))
        self.field = field


def get_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def get_organisation_by_ref(ref: str) -> Organisation | None:
    """An organisation by numeric id or by credit code."""
    ref = (ref or "").strip()
    if ref.isascii() and ref.isdigit():
        number = id_in(ref)
        return db.session.get(Organisation, number) if number is not None else None
    return db.session.scalar(select(Organisation).where(
        Organisation.credit_code == normalise_credit_code(ref)))


def sole_bureau() -> Organisation | None:
    """The organisation of kind bureau, when there is exactly one (the platform's operator)."""
    bureaus = db.session.scalars(select(Organisation).where(Organisation.kind == "bureau")
                                 .limit(2)).all()
    return bureaus[0] if len(bureaus) == 1 else None


BUREAU_ONLY = _l("Administrator and bureau staff are roles for members of the bureau only.")


def create_user(*, email, password, name, organisation, roles=("member",), confirmed=True,
                locale="zh_CN", timezone="Asia/Shanghai", actor=None,
                email_confirmed=True) -> User:
    """`email_confirmed`: False for an account registered on the site, whose owner is sent a
    link to confirm the address (staff, campus sign-on and invitations vouch for theirs)."""
    email = normalise_email(email)
    if get_user_by_email(email):
        raise AccountError("email_taken", _l("This e-mail address is already registered."))
    if not set(roles) <= roles_for_organisation(organisation.kind):
        raise AccountError("role_not_for_organisation", BUREAU_ONLY)
    user = User(email=email, name=name, organisation=organisation, locale=locale,
                timezone=timezone, membership_confirmed=confirmed,
                email_confirmed_at=now_utc() if email_confirmed else None)
    user.set_password(password)
    user.roles = [Role(organisation=organisation, name=role) for role in roles]
    db.session.add(user)
    db.session.flush()
    audit.record("user.created", actor=actor or user, obj=user, roles=list(roles))
    return user


def register_member(*, email, password, name, organisation, as_student=False, **profile) -> User:
    """Join an existing organisation; its lab manager confirms the membership."""
    user = create_user(email=email, password=password, name=name, organisation=organisation,
                       roles=("student",) if as_student else ("member",), confirmed=False,
                       email_confirmed=False, **profile)
    send_email_confirmation(user)
    for manager in role_holders("lab_manager", organisation.id):
        notifications.notify_member_pending(manager, user)
    return user


def register_enterprise(*, email, password, name, organisation_fields: dict, **profile) -> User:
    """Register a new enterprise and its first member; bureau staff verify it before booking."""
    code = normalise_credit_code(organisation_fields["credit_code"])
    if db.session.scalar(select(Organisation.id).where(Organisation.credit_code == code)):
        raise AccountError("credit_code_taken", _l(
            "An organisation with this credit code is already registered; join it instead."),
            field="credit_code")
    organisation = Organisation(kind="enterprise", verified=False,
                                **{**organisation_fields, "credit_code": code})
    db.session.add(organisation)
    db.session.flush()
    user = create_user(email=email, password=password, name=name, organisation=organisation,
                       roles=("member",), confirmed=True, email_confirmed=False, **profile)
    send_email_confirmation(user)
    audit.record("organisation.registered", actor=user, obj=organisation)
    for staff in role_holders("bureau_staff"):
        notifications.notify_organisation_registered(staff, organisation, user)
    return user


def verify_organisation(organisation: Organisation, actor: User) -> None:
    if organisation.verified:
        return
    organisation.verified = True
    organisation.verified_at = now_utc()
    audit.record("organisation.verified", actor=actor, obj=organisation)
    for member in organisation.members:
        notifications.notify_organisation_verified(member, organisation)


def confirm_member(user: User, actor: User) -> None:
    if user.membership_confirmed:
        return
    user.membership_confirmed = True
    audit.record("member.confirmed", actor=actor, obj=user)
    notifications.notify_membership_confirmed(user)


def set_roles(user: User, names: set[str], actor: User) -> None:
    """Replace the user's roles in their own organisation with `names`."""
    problem = role_change_problem(actor, user, names)
    if problem:
        raise AccountError("roles", problem, field="roles")
    organisation_id = user.organisation_id
    before = sorted(r.name for r in user.roles if r.organisation_id == organisation_id)
    if before == sorted(names):
        return
    # Keep rows that stay (the unit of work inserts before it deletes: no unique clash).
    kept = [r for r in user.roles if r.organisation_id != organisation_id or r.name in names]
    user.roles = kept + [Role(organisation_id=organisation_id, name=n)
                         for n in sorted(names) if n not in before]
    audit.record("user.roles_changed", actor=actor, obj=user, before=before,
                 after=sorted(names), organisation_id=organisation_id)


def role_change_problem(actor: User, user: User, names: set[str]) -> str | None:
    if not names:
        return _l("Keep at least one role.")
    if not names <= roles_for_organisation(user.organisation.kind):
        return BUREAU_ONLY
    if not names <= assignable_roles(actor, user.organisation):
        return _l("You may not grant these roles.")
    before = {r.name for r in user.roles if r.organisation_id == user.organisation_id}
    if not before - names <= assignable_roles(actor, user.organisation):
        return _l("You may not remove a role higher than your own.")
    if actor.id == user.id and "lab_manager" in before - names and not actor.is_admin:
        return _l("You cannot remove your own manager role.")
    if actor.id == user.id and names - before and not actor.is_admin:
        # four eyes: who approves and bills does not also record who paid (finance)
        return _l("Someone else grants you a new role.")
    if "admin" in before and "admin" not in names and user.active:
        from booking.accounts.deactivation import other_active_admins

        if not other_active_admins(user):
            return _l("The last active administrator must keep the administrator role.")
    return None


def assignable_roles(actor: User, organisation: Organisation) -> set[str]:
    """Nobody grants a role higher than their own: admins grant any, bureau staff any but
    admin, managers appoint within their organisation; the bureau's roles only to members of
    a bureau (rules.roles_for_organisation)."""
    if actor.is_admin or actor.has_role("bureau_staff"):
        granted = grantable_roles(actor.role_names())
    elif actor.can_manage_organisation(organisation.id):
        granted = grantable_roles({"lab_manager"})
    else:
        return set()
    return granted & roles_for_organisation(organisation.kind)


def role_holders(role: str, organisation_id: int | None = None) -> list[User]:
    """The active users holding `role` (in that organisation, when given): who is told."""
    query = select(User).join(Role).where(Role.name == role, User.active.is_(True))
    if organisation_id is not None:
        query = query.where(Role.organisation_id == organisation_id)
    return list(db.session.scalars(query.distinct()))


class SignsInOnCampus(Exception):
    """The account signs in through its institution's campus sign-on, not with a password:
    only that sign-on says whether its holder has left (a password would let a leaver in)."""

    def __init__(self, institution: str):
        super().__init__(institution)
        self.institution = institution


def authenticate(email: str, password: str, campus_accounts: bool = False) -> User | None:
    """The user when the credentials are right (and the account active), else None.
    A password is hashed whether or not the account exists, so the answer takes the same time
    and tells nobody which addresses are registered. An account linked to its institution's
    sign-on raises SignsInOnCampus, once its password was right (`campus_accounts`: the
    kiosk's check-in, which only acts on bookings made through the site)."""
    user = get_user_by_email(email)
    if user is None:
        check_password_hash(unknown_account_hash(), password)
    if user is None or not user.check_password(password) or not user.active:
        audit.record("login.failed", actor=user, email=normalise_email(email)[:254])
        return None
    if not campus_accounts and (institution := address_kept_by(user)):
        audit.record("login.failed", actor=user, email=user.email, reason="campus sign-on")
        raise SignsInOnCampus(institution)
    user.last_login_at = now_utc()
    audit.record("login.succeeded", actor=user, obj=user)
    return user


@cache
def _hash_for_unknown_accounts(method: str) -> str:
    return generate_password_hash(secrets.token_urlsafe(16), method=method)


def unknown_account_hash() -> str:
    """A hash of the configured cost that no password matches."""
    return _hash_for_unknown_accounts(current_app.config["PASSWORD_HASH_METHOD"])


# --- e-mail confirmation ---------------------------------------------------------------------
EMAIL_CONFIRMATION_MAX_AGE = timedelta(days=7)


def _confirmation_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="email-confirmation")


def _signed_by_user(serializer: URLSafeTimedSerializer, token: str, max_age: timedelta
                    ) -> tuple[User | None, dict]:
    """The user a signed link names (its "uid") and what it says; (None, {}) for a link that
    is forged, expired or names nobody."""
    try:
        data = serializer.loads(token, max_age=int(max_age.total_seconds()))
    except (SignatureExpired, BadSignature):
        return None, {}
    if not isinstance(data, dict):
        return None, {}
    return db.session.get(User, id_in(str(data.get("uid", ""))) or 0), data


def send_email_confirmation(user: User) -> None:
    """Queue the link that confirms the address (bound to the address: a changed one needs
    its own)."""
    token = _confirmation_serializer().dumps({"uid": user.id, "email": user.email})
    notifications.notify_email_confirmation(user, token)


def confirm_email(token: str) -> User | None:
    """The user whose address the link confirms (confirmed now, once); None: a link that is
    forged, expired or for an address the account no longer has."""
    user, data = _signed_by_user(_confirmation_serializer(), token,
                                 EMAIL_CONFIRMATION_MAX_AGE)
    if user is None or user.email != data.get("email"):
        return None
    if not user.email_confirmed:
        user.email_confirmed_at = now_utc()
        audit.record("user.email_confirmed", actor=user, obj=user)
    return user


# --- changing the address --------------------------------------------------------------------
EMAIL_CHANGE_MAX_AGE = timedelta(days=2)


def _email_change_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="email-change")


def leaving_to(user: User) -> str | None:
    """Where a user logging out goes next, when not home (signals.leaving_to)."""
    return next((answer for _receiver, answer in signals.leaving_to.send(user) if answer), None)


def address_kept_by(user: User) -> str | None:
    """Who keeps the user's address, when not the user (signals.address_kept_by)."""
    return next((answer for _receiver, answer in signals.address_kept_by.send(user)
                 if answer), None)


def request_email_change(user: User, new_email: str) -> str:
    """Send the link that makes `new_email` the account's address to that address (whoever
    opens it there owns it), and tell the current address that a change was asked. Returns
    the address as it will be stored."""
    new_email = normalise_email(new_email)
    if new_email == user.email:
        raise AccountError("same_email", _l("This is your address already."), "new_email")
    if get_user_by_email(new_email) is not None:
        raise AccountError("email_taken", _l("Another account uses this address."),
                           "new_email")
    keeper = address_kept_by(user)
    if keeper:
        raise AccountError("address_kept", _l(
            "Your address comes with your sign-in through %(keeper)s: change it there."),
            field="new_email", keeper=keeper)
    token = _email_change_serializer().dumps({"uid": user.id, "from": user.email,
                                              "to": new_email})
    audit.record("user.email_change_requested", actor=user, obj=user, to=new_email)
    notifications.notify_email_change_requested(user, new_email, token)
    return new_email


def change_email(token: str) -> User | None:
    """Make the link's address the account's (confirmed: the link came to it). None: a link
    that is forged or expired, for an address the account has changed from since, or for one
    another account took meanwhile."""
    user, data = _signed_by_user(_email_change_serializer(), token, EMAIL_CHANGE_MAX_AGE)
    if user is None or not user.active or user.email != data.get("from") or \
            get_user_by_email(data.get("to", "")) is not None or address_kept_by(user):
        return None
    before = user.email
    user.email, user.email_confirmed_at = data["to"], now_utc()
    audit.record("user.email_changed", actor=user, obj=user, before=before, after=user.email)
    notifications.notify_email_changed(user, before)
    return user


# --- password reset --------------------------------------------------------------------------
def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def request_password_reset(email: str) -> None:
    """Queue a reset link. Says nothing about whether the address exists."""
    user = get_user_by_email(email)
    audit.record("password.reset_requested", actor=user, email=normalise_email(email)[:254])
    if user is None or not user.active:
        return
    notifications.notify_password_reset(user, password_reset_token(user))


def password_reset_token(user: User, invitation: bool = False) -> str:
    """The token embeds the current hash's tail, so it dies once the password changes (or is
    first chosen). An invitation's link lasts INVITATION_MAX_AGE, a reset's RESET_MAX_AGE."""
    payload = {"uid": user.id, "h": user.password_hash[-12:]}
    return _reset_serializer().dumps({**payload, "inv": 1} if invitation else payload)


def user_for_reset_token(token: str) -> User | None:
    data, user = _reset_link(token)
    if user is None or user.password_hash[-12:] != data.get("h"):
        return None
    return user


def invited_by_link(token: str) -> User | None:
    """The account an invitation link (one still in its time) was sent for, whether or not it
    was used already: the page welcomes them, or tells them they chose their password."""
    data, user = _reset_link(token)
    return user if data.get("inv") else None


def _reset_link(token: str) -> tuple[dict, User | None]:
    """The link's payload and account, when its signature holds and its time has not run
    out (whether its password is still the one it was sent for is the caller's question)."""
    try:
        data, signed_at = _reset_serializer().loads(
            token, max_age=int(INVITATION_MAX_AGE.total_seconds()), return_timestamp=True)
    except (SignatureExpired, BadSignature):
        return {}, None
    if not isinstance(data, dict) or not data.get("inv") and \
            now_utc() - signed_at > RESET_MAX_AGE:
        return {}, None
    return data, db.session.get(User, id_in(str(data.get("uid", ""))) or 0)


def change_password(user: User, new_password: str, *, via: str) -> int:
    """Set a new password; returns how many API tokens that revoked. A reset revokes them
    all: whoever had the account's password may have made tokens with it."""
    user.set_password(new_password)
    revoked = 0
    if via == "reset":
        if not user.email_confirmed:  # its link came by e-mail (invitations too)
            user.email_confirmed_at = now_utc()
        for token in db.session.scalars(select(ApiToken).where(
                ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))):
            revoke_api_token(token, user)
            revoked += 1
    audit.record("password.changed", actor=user, obj=user, via=via, tokens_revoked=revoked)
    return revoked


# --- API tokens ------------------------------------------------------------------------------
def create_api_token(user: User, name: str, valid_days: int | None = None) -> tuple[ApiToken, str]:
    """Returns the stored token and the raw secret, which is shown once and never stored."""
    raw = ApiToken.generate()
    expires = now_utc() + timedelta(days=valid_days) if valid_days else None
    token = ApiToken(user=user, name=name, token_hash=hash_token(raw), hint=raw[:10],
                     expires_at=expires)
    db.session.add(token)
    db.session.flush()
    audit.record("api_token.created", actor=user, obj=token, name=name)
    return token, raw


def revoke_api_token(token: ApiToken, actor: User) -> None:
    if token.revoked_at is None:
        token.revoked_at = now_utc()
        audit.record("api_token.revoked", actor=actor, obj=token)


def user_for_api_token(raw: str) -> User | None:
    """The active user of a usable token (None for an unknown, expired or revoked one), with
    their organisation: one Core statement, every API request runs it."""
    db.session.flush()  # as an ORM query would: a revocation made in this session counts
    row = db.session.connection().execute(
        _USER_OF_TOKEN, {"token_hash": hash_token(raw)}).first() if raw else None
    if row is None or not token_usable(row[0], row[1], now_utc()):
        return None
    user = attach_loaded(db.session, User, row[2:_ORGANISATION_AT], organisation=attach_loaded(
        db.session, Organisation, row[_ORGANISATION_AT:]))
    return user if user.active else None


_tokens, _users, _organisations = ApiToken.__table__, User.__table__, Organisation.__table__
_USER_OF_TOKEN = select(_tokens.c.revoked_at, _tokens.c.expires_at, *_users.c,
                        *_organisations.c).select_from(
    _tokens.join(_users, _users.c.id == _tokens.c.user_id).join(
        _organisations, _organisations.c.id == _users.c.organisation_id)).where(
    _tokens.c.token_hash == bindparam("token_hash"))
_ORGANISATION_AT = 2 + len(_users.c)
