"""Sign-on workflows: finding the provider for a person, creating and refreshing accounts from
what a provider asserts, linking an existing account, configuring providers, and the leaver
sync. They flush, never commit: the route or command commits once.

The one rule that matters most: a provider only ever signs people into its own organisation.
Identities are keyed by (provider, subject), never by e-mail alone, and an account is created
in, refreshed in, or linked to the provider's organisation and no other."""
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select

from booking.accounts import services as accounts
from booking.accounts.deactivation import deactivate_user
from booking.accounts.models import Organisation, Role, User
from booking.accounts.rules import normalise_email
from booking.core import audit
from booking.core.clock import now_utc
from booking.core.names import ReadersName
from booking.core.problems import Problem, Refused, _l
from booking.core.web import current_locale
from booking.extensions import db
from booking.identity import ldap_directory, rules
from booking.identity.assertion import Assertion, refused
from booking.identity.models import ExternalIdentity, IdentityProvider

#: organisation kinds that may sign their people in through a provider of their own
INSTITUTION_KINDS_EXCLUDED = ("enterprise", "bureau")


class ProviderError(Refused):
    """A provider's configuration was refused; the problems name the fields."""


@dataclass
class NeedsLink(Exception):
    """The provider's person has no account here yet, but an account with their e-mail exists:
    they must prove it is theirs (its password) before the two are linked."""

    user: User
    pending: dict


# --- finding providers -------------------------------------------------------------------------
def enabled_providers() -> list[IdentityProvider]:
    """Providers people can pick on the login page (their organisation verified and active)."""
    return list(db.session.scalars(
        select(IdentityProvider).join(Organisation)
        .where(IdentityProvider.enabled.is_(True), Organisation.verified.is_(True),
               *_active_organisation()).order_by(Organisation.name_zh)))


def _active_organisation() -> list:
    active = getattr(Organisation, "active", None)  # organisations may be switched off
    return [active.is_(True)] if active is not None else []


def provider_for_email(email: str) -> IdentityProvider | None:
    domain = rules.email_domain(email)
    if not domain:
        return None
    for provider in enabled_providers():
        if domain in provider.domains:
            return provider
    return None


def enabled_provider(provider_id: int) -> IdentityProvider | None:
    provider = db.session.get(IdentityProvider, provider_id)
    return provider if provider is not None and provider in enabled_providers() else None


# --- signing in --------------------------------------------------------------------------------
def sign_in(provider: IdentityProvider, assertion: Assertion) -> User:
    """The user the provider's assertion names: found by (provider, subject), created on the
    first sign-in, refreshed on later ones. Raises SignOnRefused, or NeedsLink when an
    account with the person's e-mail must be linked first."""
    identity = db.session.scalar(select(ExternalIdentity).where(
        ExternalIdentity.provider_id == provider.id,
        ExternalIdentity.subject == assertion.subject[:255]))
    if _is_leaver(provider, assertion):
        if identity is not None and identity.user.active:
            deactivate_user(identity.user, actor=None, reason=_leaver_reason(provider, "sign-in"))
        audit.record("sso.refused_leaver", obj=provider, subject=assertion.subject[:255])
        raise refused("left_institution", _l(
            "%(org)s says you are no longer one of its members, so you cannot sign in here."),
            org=ReadersName(provider.organisation))
    role = _role_for(provider, assertion)
    if identity is None:
        identity = _first_sign_in(provider, assertion, role)
    user = identity.user
    if user.organisation_id != provider.organisation_id:  # never sign in across institutions
        audit.record("sso.refused_other_org", actor=user, obj=provider)
        raise refused("other_organisation", _l(
            "This account belongs to another organisation; %(org)s cannot sign you in to it."),
            org=ReadersName(provider.organisation))
    if not user.active:
        audit.record("login.failed", actor=user, via="sso", reason="inactive")
        raise refused("deactivated", _l(
            "Your account here is deactivated. Ask a lab manager of your institution."))
    _refresh(user, provider, assertion, role)
    _record_sign_in(identity, user, assertion.ticket)
    return user


def _is_leaver(provider: IdentityProvider, assertion: Assertion) -> bool:
    return rules.is_leaver(assertion.attributes, provider.setting("leaver_attribute"),
                           rules.listed_values(provider.setting("leaver_values") or ""))


def _role_for(provider: IdentityProvider, assertion: Assertion) -> str:
    return rules.mapped_role(assertion.attributes, provider.role_rule_list,
                             provider.default_role, provider.max_role)


def _first_sign_in(provider, assertion: Assertion, role: str) -> ExternalIdentity:
    email = normalise_email(assertion.email)
    if not email or "@" not in email:
        raise refused("no_email", _l(
            "Your institution did not tell us your e-mail address, which an account here "
            "needs. Ask its IT helpdesk to release it."))
    existing = accounts.get_user_by_email(email)
    if existing is not None:
        if existing.organisation_id != provider.organisation_id:
            audit.record("sso.refused_other_org", actor=existing, obj=provider)
            raise refused("email_in_other_organisation", _l(
                "An account with your e-mail address belongs to another organisation. Sign in "
                "to it with its password, or ask an administrator to move it."))
        raise NeedsLink(existing, pending_link(provider, assertion, role))
    user = accounts.create_user(
        email=email, password=secrets.token_urlsafe(32), name=_name_of(assertion, email),
        organisation=provider.organisation, roles=(role,), confirmed=True,
        locale=current_locale())  # the browser's that came: an English one gets English
    identity = ExternalIdentity(provider=provider, user=user, subject=assertion.subject[:255])
    db.session.add(identity)
    db.session.flush()
    audit.record("sso.user_created", actor=user, obj=user, provider_id=provider.id, role=role)
    return identity


def _name_of(assertion: Assertion, email: str) -> str:
    return (assertion.name or email.split("@")[0])[:100]


def _refresh(user: User, provider: IdentityProvider, assertion: Assertion, role: str) -> None:
    """Later sign-ins bring the provider's name, e-mail and role (roles it does not manage,
    such as finance, stay as the lab set them)."""
    changes = {}
    if assertion.name and assertion.name[:100] != user.name:
        changes["name"] = (user.name, assertion.name[:100])
        user.name = assertion.name[:100]
    email = normalise_email(assertion.email)
    if email and email != user.email and accounts.get_user_by_email(email) is None:
        changes["email"] = (user.email, email)
        user.email = email
    org_id = provider.organisation_id
    mapped = sorted(r.name for r in user.roles
                    if r.organisation_id == org_id and r.name in rules.MAPPED_ROLES)
    if mapped != [role]:
        changes["roles"] = (mapped, [role])
        user.roles = [r for r in user.roles if r.organisation_id != org_id or
                      r.name not in rules.MAPPED_ROLES or r.name == role]
        if role not in mapped:
            user.roles.append(Role(organisation_id=org_id, name=role))
    if changes:
        audit.record("sso.user_refreshed", actor=user, obj=user, provider_id=provider.id,
                     changes={key: list(value) for key, value in changes.items()})


def _record_sign_in(identity: ExternalIdentity, user: User, ticket: str = "") -> None:
    now = now_utc()
    identity.last_sign_in_at = now
    if ticket:
        identity.session_ticket = ticket_hash(ticket)
    user.last_login_at = now
    db.session.flush()
    audit.record("login.succeeded", actor=user, obj=user, via=identity.provider.kind,
                 provider_id=identity.provider_id)


# --- single logout ----------------------------------------------------------------------------
def ticket_hash(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


def end_sessions(provider: IdentityProvider, ticket: str) -> bool:
    """The provider says the person who signed in with `ticket` signed out there: their
    sessions here begun until now end (checked on their next request). True when known."""
    identity = db.session.scalar(select(ExternalIdentity).where(
        ExternalIdentity.provider_id == provider.id,
        ExternalIdentity.session_ticket == ticket_hash(ticket)))
    if identity is None:
        return False
    identity.signed_out_at = now_utc()
    identity.session_ticket = None
    audit.record("sso.signed_out", actor=identity.user, obj=identity.user,
                 provider_id=provider.id)
    return True


def is_signed_out(provider_id: int, user_id: int, signed_in_at: float) -> bool:
    """Whether the provider ended this person's sessions after `signed_in_at` (a timestamp)."""
    ended = db.session.scalar(select(ExternalIdentity.signed_out_at).where(
        ExternalIdentity.provider_id == provider_id, ExternalIdentity.user_id == user_id))
    return ended is not None and ended.timestamp() > signed_in_at


# --- linking an existing account ---------------------------------------------------------------
LINK_MAX_AGE_SECONDS = 600


def pending_link(provider, assertion: Assertion, role: str) -> dict:
    """What the link step needs to remember (kept in the signed session, so small)."""
    return {"provider_id": provider.id, "subject": assertion.subject[:255],
            "email": normalise_email(assertion.email), "name": assertion.name[:100],
            "role": role, "at": now_utc().timestamp()}


def link_pending(pending: dict, password: str) -> User:
    """Link the provider's person to the existing account with their e-mail, once its
    password proves it theirs (the provider has proved the other half)."""
    if now_utc().timestamp() - float(pending.get("at", 0)) > LINK_MAX_AGE_SECONDS:
        raise refused("link_expired", _l("That took too long. Please sign in again."))
    provider = db.session.get(IdentityProvider, int(pending["provider_id"]))
    user = accounts.get_user_by_email(pending["email"])
    if provider is None or user is None:
        raise refused("link_expired", _l("That took too long. Please sign in again."))
    if not user.check_password(password) or not user.active:
        audit.record("login.failed", actor=user, via="sso_link")
        raise refused("wrong_password", _l("That is not the password of this account."))
    if user.organisation_id != provider.organisation_id:
        raise refused("other_organisation", _l(
            "This account belongs to another organisation; %(org)s cannot sign you in to it."),
            org=ReadersName(provider.organisation))
    taken = db.session.scalar(select(ExternalIdentity).where(
        ExternalIdentity.provider_id == provider.id,
        (ExternalIdentity.user_id == user.id) | (ExternalIdentity.subject == pending["subject"])))
    if taken is not None:
        raise refused("already_linked", _l(
            "This account is already linked to a sign-in of %(org)s."),
            org=ReadersName(provider.organisation))
    identity = ExternalIdentity(provider=provider, user=user, subject=pending["subject"])
    db.session.add(identity)
    db.session.flush()
    audit.record("sso.linked", actor=user, obj=user, provider_id=provider.id)
    _refresh(user, provider, Assertion(subject=pending["subject"], email=pending["email"],
                                       name=pending["name"]), pending["role"])
    _record_sign_in(identity, user)
    return user


def link_signed_in(user: User, provider: IdentityProvider, assertion: Assertion) -> None:
    """Link the provider's person to `user`, who is signed in here (the other proof): for
    accounts whose e-mail differs from the one the institution knows."""
    if user.organisation_id != provider.organisation_id:
        raise refused("other_organisation", _l(
            "This account belongs to another organisation; %(org)s cannot sign you in to it."),
            org=ReadersName(provider.organisation))
    if _is_leaver(provider, assertion):
        raise refused("left_institution", _l(
            "%(org)s says you are no longer one of its members, so you cannot sign in here."),
            org=ReadersName(provider.organisation))
    taken = db.session.scalar(select(ExternalIdentity).where(
        ExternalIdentity.provider_id == provider.id,
        (ExternalIdentity.user_id == user.id) |
        (ExternalIdentity.subject == assertion.subject[:255])))
    if taken is not None:
        raise refused("already_linked", _l(
            "This account is already linked to a sign-in of %(org)s."),
            org=ReadersName(provider.organisation))
    identity = ExternalIdentity(provider=provider, user=user, subject=assertion.subject[:255])
    db.session.add(identity)
    db.session.flush()
    audit.record("sso.linked", actor=user, obj=user, provider_id=provider.id)
    _refresh(user, provider, assertion, _role_for(provider, assertion))
    _record_sign_in(identity, user, assertion.ticket)


def link_status(user: User) -> tuple[IdentityProvider | None, ExternalIdentity | None]:
    """The enabled provider of the user's organisation, and the user's identity there."""
    provider = provider_of_organisation(user.organisation)
    if provider is None or provider not in enabled_providers():
        return None, None
    return provider, db.session.scalar(select(ExternalIdentity).where(
        ExternalIdentity.provider_id == provider.id, ExternalIdentity.user_id == user.id))


def address_keeper(user: User, **_extra) -> str | None:
    """Receiver of accounts' `address_kept_by`: a user linked to their institution's sign-in
    gets their address from it at each sign-in (_refresh), so it is changed there."""
    provider, identity = link_status(user)
    return provider.organisation.display_name(user.locale) if identity else None


# --- configuring providers ---------------------------------------------------------------------
def institutions() -> list[Organisation]:
    """Organisations that may have a provider: universities and institutes, not enterprises."""
    return list(db.session.scalars(select(Organisation).where(
        Organisation.kind.not_in(INSTITUTION_KINDS_EXCLUDED)).order_by(Organisation.name_zh)))


def save_provider(provider: IdentityProvider | None, values: dict, actor: User
                  ) -> IdentityProvider:
    """Create or update a provider from validated form values (see forms.ProviderForm)."""
    role_rules, problems = rules.parse_rules(values.pop("role_rules_text"))
    domains, domain_problems = rules.parse_domains(values.pop("email_domains_text"))
    problems += domain_problems + rules.settings_problems(values["kind"], values["settings"])
    organisation = db.session.get(Organisation, values["organisation_id"])
    if organisation is None or organisation.kind in INSTITUTION_KINDS_EXCLUDED:
        problems.append(Problem("organisation", _l(
            "Only universities and institutes sign their people in through a provider.")))
    owner = db.session.scalar(select(IdentityProvider).where(
        IdentityProvider.organisation_id == values["organisation_id"]))
    if owner is not None and owner is not provider:
        problems.append(Problem("organisation_taken", _l(
            "This organisation already has a sign-in provider; edit that one.")))
    claimed = {domain for other in db.session.scalars(select(IdentityProvider))
               if other is not provider for domain in other.domains}
    for domain in sorted(claimed & set(domains)):
        problems.append(Problem("domain_taken", _l(
            "%(domain)s already routes to another institution's provider."), {"domain": domain}))
    if rules.MAPPED_ROLES.index(values["default_role"]) > \
            rules.MAPPED_ROLES.index(values["max_role"]):
        problems.append(Problem("default_above_ceiling", _l(
            "The default role must not be above the highest role allowed.")))
    if problems:
        raise ProviderError(problems)
    before = _snapshot(provider) if provider else None
    if provider is None:
        provider = IdentityProvider()
        db.session.add(provider)
    for key, value in values.items():
        setattr(provider, key, value)
    provider.role_rules = [rule.as_dict() for rule in role_rules]
    provider.email_domains = ",".join(domains)
    db.session.flush()
    audit.record("sso.provider_saved", actor=actor, obj=provider, before=before,
                 after=_snapshot(provider))
    return provider


def _snapshot(provider: IdentityProvider) -> dict:
    """What the audit keeps of a provider (its settings hold no secrets, only their names)."""
    return {"organisation_id": provider.organisation_id, "kind": provider.kind,
            "enabled": provider.enabled, "settings": dict(provider.settings or {}),
            "role_rules": list(provider.role_rules or []), "max_role": provider.max_role,
            "default_role": provider.default_role, "email_domains": provider.email_domains,
            "secret_env": provider.secret_env}


# --- leavers -----------------------------------------------------------------------------------
@dataclass
class SyncResult:
    checked: int
    deactivated: int
    bookings_cancelled: int


def sync_leavers(provider: IdentityProvider, actor: User | None = None) -> SyncResult:
    """Deactivate the organisation's users linked through this LDAP provider whose entries have
    left the directory; their future bookings are cancelled with a notice. Refuses (changing
    nothing) when the directory cannot be read: an empty answer must not switch everyone off."""
    if provider.kind != "ldap":
        raise refused("not_ldap", _l("Only LDAP directories can be synced."))
    present = ldap_directory.directory_subjects(provider)
    if not present:
        raise refused("empty_directory", _l(
            "The directory listed nobody; nothing was changed (check the search base)."))
    identities = db.session.scalars(select(ExternalIdentity).join(User).where(
        ExternalIdentity.provider_id == provider.id, User.active.is_(True))).all()
    deactivated = cancelled = 0
    for identity in identities:
        if identity.subject in present:
            continue
        try:
            cancelled += deactivate_user(identity.user, actor=actor,
                                         reason=_leaver_reason(provider, "directory"))
        except Refused:  # the last administrator stays; the audit shows who was kept
            audit.record("sso.sync_kept", actor=actor, obj=identity.user)
            continue
        deactivated += 1
    audit.record("sso.synced", actor=actor, obj=provider, checked=len(identities),
                 deactivated=deactivated)
    return SyncResult(len(identities), deactivated, cancelled)


def provider_of_organisation(organisation: Organisation) -> IdentityProvider | None:
    return db.session.scalar(select(IdentityProvider).where(
        IdentityProvider.organisation_id == organisation.id))



def _leaver_reason(provider: IdentityProvider, source: str) -> str:
    """Why a leaver was switched off, as stored with their cancelled bookings and quoted in
    their notice: in Chinese first and in English, as the institution's records are."""
    org = provider.organisation
    where = {"sign-in": ("统一身份认证", "sign-in service"), "directory": ("人员目录", "directory")}
    zh, en = where[source]
    return f"已不在{org.name_zh}{zh}中 / no longer in the {en} of {org.name_en or org.name_zh}"
