"""Console workflows: organisations and people. They flush, never commit."""
import secrets

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from booking.accounts import services as accounts
from booking.accounts.deactivation import deactivate_user, reactivate_user  # noqa: F401
from booking.accounts.models import Organisation, Role, User
from booking.accounts.rules import normalise_credit_code, roles_for_organisation
from booking.accounts.signals import organisation_deactivated, organisation_renamed
from booking.admin import notifications, rules
from booking.core import audit
from booking.core.clock import now_utc
from booking.core.problems import Problem, Refused, _l
from booking.extensions import db

ORGANISATION_FIELDS = ("kind", "name_zh", "name_en", "credit_code", "city", "region_code",
                       "short_code")


class ConsoleError(Refused):
    """Refused before anything changed; `field` names the form field it is about."""

    def __init__(self, problems, field: str | None = None):
        super().__init__(problems)
        self.field = field or self.problems[0].code


def can_administer(user) -> bool:
    """The console: administrators and bureau staff."""
    return bool(user and user.is_authenticated and user.is_bureau)


def _clean(fields: dict) -> dict:
    fields = {k: (v or "").strip() if isinstance(v, str) or v is None else v
              for k, v in fields.items()}
    fields["credit_code"] = normalise_credit_code(fields.get("credit_code", ""))
    if not fields.get("region_code"):
        fields["region_code"] = rules.region_for_city(fields.get("city", ""))
    fields["short_code"] = fields.get("short_code") or None
    return fields


def _check(fields: dict, organisation: Organisation | None = None) -> None:
    problems = rules.organisation_problems(
        kind=fields["kind"], name_zh=fields["name_zh"], credit_code=fields["credit_code"],
        city=fields["city"], region_code=fields["region_code"])
    taken = select(Organisation.id).where(Organisation.credit_code == fields["credit_code"])
    if organisation is not None:
        taken = taken.where(Organisation.id != organisation.id)
    if not problems and db.session.scalar(taken):
        problems.append(Problem("credit_code", _l(
            "An organisation with this credit code already exists.")))
    if fields.get("short_code"):
        clash = select(Organisation.id).where(Organisation.short_code == fields["short_code"])
        if organisation is not None:
            clash = clash.where(Organisation.id != organisation.id)
        if db.session.scalar(clash):
            problems.append(Problem("short_code", _l("This invoice prefix is already used.")))
    if problems:
        raise ConsoleError(problems)


def create_organisation(fields: dict, actor: User | None, *, verified: bool = True
                        ) -> Organisation:
    """An organisation onboarded by the platform (verified: the bureau knows it)."""
    fields = _clean({k: fields.get(k) for k in ORGANISATION_FIELDS})
    fields["name_en"] = fields.get("name_en") or ""
    _check(fields)
    organisation = Organisation(**fields, verified=verified,
                                verified_at=now_utc() if verified else None)
    db.session.add(organisation)
    db.session.flush()
    audit.record("organisation.created", actor=actor, obj=organisation, after=_snapshot(
        organisation), organisation_id=organisation.id)
    return organisation


def update_organisation(organisation: Organisation, fields: dict, actor: User) -> None:
    fields = _clean({k: fields.get(k, getattr(organisation, k)) for k in ORGANISATION_FIELDS})
    fields["name_en"] = fields.get("name_en") or ""
    if "bureau" in (organisation.kind, fields["kind"]) and fields["kind"] != organisation.kind:
        # its people's roles (admin, bureau staff) belong to the bureau alone
        raise ConsoleError(Problem("kind", _l(
            "The bureau stays the bureau, and no organisation becomes one by an edit.")))
    _check(fields, organisation)
    before = _snapshot(organisation)
    for key, value in fields.items():
        setattr(organisation, key, value)
    after = _snapshot(organisation)
    if before != after:
        audit.record("organisation.updated", actor=actor, obj=organisation,
                     before={k: v for k, v in before.items() if after[k] != v},
                     after={k: v for k, v in after.items() if before[k] != v},
                     organisation_id=organisation.id)
    if any(before[k] != after[k] for k in ("name_zh", "name_en", "short_code", "city")):
        organisation_renamed.send(organisation)


def _snapshot(organisation: Organisation) -> dict:
    return {k: getattr(organisation, k) for k in ORGANISATION_FIELDS}


def set_organisation_active(organisation: Organisation, active: bool, actor: User,
                            reason: str = "") -> int:
    """Deactivating an organisation deactivates its people (their future bookings are
    cancelled) and takes its instruments out of the directory; returns how many bookings that
    cancelled. Re-activating restores the organisation only: people are re-activated and
    instruments published again one by one."""
    if organisation.active == active:
        return 0
    if not active and actor.organisation_id == organisation.id:
        raise ConsoleError(Problem("own", _l("You cannot deactivate your own organisation.")))
    organisation.active = active
    organisation.deactivated_at = None if active else now_utc()
    audit.record("organisation.activated" if active else "organisation.deactivated",
                 actor=actor, obj=organisation, reason=reason, before={"active": not active},
                 after={"active": active}, organisation_id=organisation.id)
    if active:
        return 0
    cancelled = 0
    for user in list(organisation.members):
        if user.active:
            cancelled += deactivate_user(user, actor=actor, reason=reason)
    # the bookings on its instruments (the instruments area answers with 0: it withdraws them)
    return cancelled + sum(count or 0 for _receiver, count in organisation_deactivated.send(
        organisation, actor=actor, reason=reason))


def inactive_members(organisation: Organisation) -> int:
    return db.session.scalar(select(func.count()).select_from(User).where(
        User.organisation_id == organisation.id, User.active.is_(False)))


def invite_user(*, email: str, name: str, organisation: Organisation, roles: set[str],
                locale: str, actor: User) -> User:
    """An account with an unguessable password and an e-mailed link to choose one."""
    if not roles:
        raise ConsoleError(Problem("roles", _l("Keep at least one role.")))
    if not roles <= roles_for_organisation(organisation.kind):
        raise ConsoleError(Problem("roles", accounts.BUREAU_ONLY))
    if not roles <= accounts.assignable_roles(actor, organisation):
        raise ConsoleError(Problem("roles", _l("You may not grant these roles.")))
    if not organisation.active:
        raise ConsoleError(Problem("organisation", _l("This organisation is deactivated.")))
    user = accounts.create_user(email=email, password=secrets.token_urlsafe(24), name=name,
                                organisation=organisation, roles=tuple(sorted(roles)),
                                confirmed=True, locale=locale, actor=actor)
    user.invited_at = now_utc()
    audit.record("user.invited", actor=actor, obj=user, organisation_id=organisation.id,
                 after={"email": user.email, "roles": sorted(roles)})
    notifications.notify_invited(user, actor, accounts.password_reset_token(user, invitation=True))
    return user


def awaits_first_sign_in(user: User) -> bool:
    """Invited (or registered by a lab) and never signed in: an invitation may be sent again.
    (An account made with a password, on the command line, was not: its holder has it.)"""
    return user.active and user.invited_at is not None and user.last_login_at is None


def resend_invitation(user: User, *, actor: User) -> None:
    """A new link to choose a password (the first one lapses after a week)."""
    if not awaits_first_sign_in(user):
        raise ConsoleError(Problem("user", _l(
            "There is no invitation to send again: this person has signed in, or chose their "
            "own password.")))
    audit.record("user.invitation_resent", actor=actor, obj=user)
    notifications.notify_invited(user, actor, accounts.password_reset_token(user, invitation=True))


# --- lists ---------------------------------------------------------------------------------
def organisations_query(args: dict):
    query = select(Organisation)
    if args.get("q"):  # the text as typed: % and _ are letters, not wildcards
        query = query.where(or_(*(column.icontains(args["q"], autoescape=True) for column in (
            Organisation.name_zh, Organisation.name_en, Organisation.credit_code,
            Organisation.city))))
    if args.get("kind"):
        query = query.where(Organisation.kind == args["kind"])
    if args.get("state") == "unverified":
        query = query.where(Organisation.verified.is_(False))
    elif args.get("state") == "inactive":
        query = query.where(Organisation.active.is_(False))
    return query.order_by(Organisation.active.desc(), Organisation.verified,
                          Organisation.kind, Organisation.name_zh, Organisation.id)


def users_query(args: dict):
    query = select(User).join(Organisation, User.organisation_id == Organisation.id).options(
        selectinload(User.organisation))  # each row shows its organisation
    if args.get("q"):
        query = query.where(or_(*(column.icontains(args["q"], autoescape=True) for column in (
            User.email, User.name, Organisation.name_zh))))
    if args.get("org"):
        query = query.where(User.organisation_id == args["org"])
    if args.get("role"):
        query = query.where(User.id.in_(select(Role.user_id).where(Role.name == args["role"])))
    if args.get("state") == "inactive":
        query = query.where(User.active.is_(False))
    elif args.get("state") == "active":
        query = query.where(User.active.is_(True))
    return query.order_by(User.active.desc(), func.lower(User.email), User.id)


def organisation_choices() -> list[Organisation]:
    return list(db.session.scalars(select(Organisation).where(Organisation.active.is_(True))
                                   .order_by(Organisation.kind, Organisation.name_zh)))
