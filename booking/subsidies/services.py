"""Voucher workflows: policy versions, applications, approval against the budget, expiry.

They flush, never commit: the route or CLI command commits once.
"""
import copy
from datetime import date, datetime

from sqlalchemy import false, func, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, selectinload

from booking.accounts.models import Organisation, Role, User
from booking.core import audit
from booking.core.clock import local_today, now_utc, quarter_of, year_end_utc
from booking.core.money import format_cny
from booking.core.problems import Problem, Refused, _l
from booking.extensions import db
from booking.subsidies import notifications, rules
from booking.subsidies.models import (
    BUDGET_STATES,
    OrganisationLink,
    SubsidyPolicy,
    Voucher,
    VoucherBudget,
    in_state_as_of,
)
from booking.subsidies.policy import (
    class_rule,
    class_rules,
    diff_rules,
    load_default_rules,
    validate_rules,
)


class PolicyError(Refused):
    """A policy edit or a declared link was refused."""


def _invalid_rules(details: list[str]) -> PolicyError:
    """The policy validator's findings (technical sentences naming the key) as a refusal."""
    return PolicyError([Problem("invalid_policy", "%(detail)s", {"detail": d}) for d in details])


class VoucherError(Refused):
    """A voucher workflow refused, with every reason; a decision already taken is a 409."""

    api_code = "voucher_refused"
    conflicts = frozenset({"state", "lapsed"})


def _decidable(voucher: Voucher) -> None:
    """Only an undecided application of the current year may be decided (approving and
    rejecting are the moves out of "applied" in the state table): one still undecided when its
    year ended has lapsed (a quota lives in the year it was granted)."""
    if voucher.state != "applied":
        raise VoucherError.one("state", _l("This application was already decided"))
    if voucher.state_at(now_utc()) == "expired":
        raise VoucherError.one("lapsed", _l(
            "This application lapsed when %(year)s ended; the applicant may apply again under "
            "this year's policy."), year=voucher.year)


# --- policy versions -------------------------------------------------------------------------
def _published_versions(year: int):
    return select(SubsidyPolicy).where(SubsidyPolicy.year == year,
                                       SubsidyPolicy.published_at.is_not(None))


def current_policy(year: int | None = None) -> SubsidyPolicy:
    """The year's latest published policy. Before one is stored, version 1 as the default file
    gives it, unsaved: reading a new year's policy (every voucher page on 1 January) writes
    nothing, so concurrent readers cannot collide on creating it (see stored_policy)."""
    year = year or local_today().year
    policy = db.session.scalar(_published_versions(year).order_by(SubsidyPolicy.version.desc())
                               .limit(1))
    return policy if policy is not None else _default_policy(year)


def stored_policy(year: int | None = None) -> SubsidyPolicy:
    """current_policy, stored first if it is still the default: for writes that refer to it
    (an application, an approval, a draft, a payout statement)."""
    policy = current_policy(year)
    return policy if policy.id is not None else _store_default_policy(policy)


def _default_policy(year: int) -> SubsidyPolicy:
    """Version 1 of a year nothing is stored for: the latest earlier year's published rules
    (a bureau's settings carry into the new year), else the default file's."""
    earlier = db.session.scalar(
        select(SubsidyPolicy).where(SubsidyPolicy.year < year,
                                    SubsidyPolicy.published_at.is_not(None))
        .order_by(SubsidyPolicy.year.desc(), SubsidyPolicy.version.desc()).limit(1))
    data = {**copy.deepcopy(earlier.rules), "year": year} if earlier is not None \
        else load_default_rules(year)
    problems = validate_rules(data)
    if problems:
        raise _invalid_rules(problems)
    return SubsidyPolicy(year=year, version=1, rules=data,
                         budget_fen=data["budget"]["annual_pool_fen"], published_at=now_utc())


def _store_default_policy(policy: SubsidyPolicy) -> SubsidyPolicy:
    """Store version 1 and the year's budget row; a concurrent writer that stored them first
    (PostgreSQL: its unique key makes ours fail) wins, and its version is returned."""
    db.session.flush()  # what was pending fails on its own, not as this insert's conflict
    try:
        with db.session.begin_nested():
            db.session.add(policy)
            if db.session.get(VoucherBudget, policy.year) is None:
                db.session.add(VoucherBudget(year=policy.year, committed_fen=0))
    except IntegrityError:
        winner = current_policy(policy.year)
        if winner.id is None:  # not a concurrent first writer: a real conflict
            raise
        return winner
    audit.record("subsidy_policy.created", obj=policy, year=policy.year, version=1,
                 source="default")
    return policy


def draft_policy(year: int, actor: User, save: bool = True) -> SubsidyPolicy:
    """The year's unpublished draft, started from the current version if there is none
    (stored only when `save`: looking at the policy page writes nothing)."""
    current = stored_policy(year) if save else current_policy(year)
    draft = db.session.scalar(select(SubsidyPolicy).where(
        SubsidyPolicy.year == year, SubsidyPolicy.published_at.is_(None)))
    if draft is None:
        # the latest published version is the highest: a draft is the only one above it
        draft = SubsidyPolicy(year=year, version=current.version + 1,
                              rules=copy.deepcopy(current.rules), budget_fen=current.budget_fen,
                              created_by_id=actor.id)
        if save:
            db.session.add(draft)
            db.session.flush()
    return draft


def save_draft(draft: SubsidyPolicy, new_rules: dict, actor: User) -> None:
    if draft.is_published:
        raise PolicyError.one("published", _l(
            "A published policy cannot be changed; edit the draft instead."))
    problems = validate_rules(new_rules)
    if problems:
        raise _invalid_rules(problems)
    before = draft.rules
    draft.rules = new_rules
    draft.budget_fen = new_rules["budget"]["annual_pool_fen"]
    audit.record("subsidy_policy.edited", actor=actor, obj=draft,
                 changes=[list(row) for row in diff_rules(before, new_rules)])


def publish_policy(draft: SubsidyPolicy, actor: User) -> None:
    if draft.is_published:
        raise PolicyError.one("published", _l("This version is already published."))
    problems = _invalid_rules(validate_rules(draft.rules)).problems
    if not policy_changes(draft):
        problems.append(Problem("unchanged", _l("The draft does not change anything.")))
    budget = db.session.get(VoucherBudget, draft.year)
    if budget is not None and draft.budget_fen < budget.committed_fen:
        problems.append(Problem("budget_below_committed", _l(
            "The year's budget cannot be less than the %(committed)s already committed to "
            "vouchers approved this year."), {"committed": format_cny(budget.committed_fen)}))
    if problems:
        raise PolicyError(problems)
    draft.published_at = now_utc()
    draft.published_by_id = actor.id
    audit.record("subsidy_policy.published", actor=actor, obj=draft, version=draft.version)


def policy_changes(draft: SubsidyPolicy) -> list[tuple[str, object, object]]:
    return diff_rules(current_policy(draft.year).rules, draft.rules)


def policy_versions(year: int) -> list[SubsidyPolicy]:
    """The year's versions, newest first; before the year's first write, the default version
    1 in force (unsaved)."""
    stored = list(db.session.scalars(select(SubsidyPolicy).where(SubsidyPolicy.year == year)
                                     .order_by(SubsidyPolicy.version.desc())))
    return stored or [current_policy(year)]


# --- facts for the pure rules ----------------------------------------------------------------
def complete_declaration(org: Organisation, declaration: dict | None) -> dict:
    """The figures an application declares, the enterprise profile filling any left blank
    (what the application records; what counts is `enterprise_facts`)."""
    given = {k: v for k, v in (declaration or {}).items() if v is not None}
    founded = given.get("founded_on") or (org.founded_on.isoformat() if org.founded_on else None)
    return {**{k: given.get(k, getattr(org, k)) for k in rules.SIZE_FIGURES},
            "founded_on": founded,
            "project_already_funded": bool(given.get("project_already_funded", False))}


def enterprise_facts(org: Organisation, declaration: dict | None = None) -> rules.Enterprise:
    """The verified profile, narrowed (never widened) by what the application declares."""
    profile = rules.Enterprise(
        id=org.id, kind=org.kind, credit_code=org.credit_code, region_code=org.region_code,
        verified=org.verified, bad_credit=org.bad_credit, sme_certified=org.sme_certified,
        legal_person=org.legal_person,
        founded_on=org.founded_on, actual_controller=org.actual_controller,
        **{name: getattr(org, name) for name in rules.SIZE_FIGURES})
    declared = dict(declaration or {})
    if declared.get("founded_on"):
        declared["founded_on"] = date.fromisoformat(declared["founded_on"])
    return rules.narrowed(profile, declared)


def controller_group_ids(org: Organisation, policy_rules: dict) -> list[int]:
    """The enterprises counted together for caps: with aggregate_by = "actual_controller"
    those with the same actual controller, with "enterprise" each on its own."""
    if not org.actual_controller or \
            policy_rules["caps"].get("aggregate_by") != "actual_controller":
        return [org.id]
    return list(db.session.scalars(select(Organisation.id).where(
        or_(Organisation.id == org.id, Organisation.actual_controller == org.actual_controller))))


def group_committed_fen(org: Organisation, year: int) -> int:
    return db.session.scalar(select(func.coalesce(func.sum(Voucher.face_value_fen), 0)).where(
        Voucher.enterprise_id.in_(controller_group_ids(org, current_policy(year).rules)),
        Voucher.year == year, Voucher.state.in_(BUDGET_STATES))) or 0


def group_pending_fen(org: Organisation, year: int) -> int:
    """What the enterprise (with its actual controller's others) has applied for this year and
    is still awaiting a decision."""
    return db.session.scalar(select(func.coalesce(func.sum(Voucher.requested_fen), 0)).where(
        Voucher.enterprise_id.in_(controller_group_ids(org, current_policy(year).rules)),
        Voucher.year == year, Voucher.state == "applied")) or 0


def non_local_committed_fen(year: int, region: str) -> int:
    """Face value committed this year to enterprises registered outside the region."""
    return db.session.scalar(
        select(func.coalesce(func.sum(Voucher.face_value_fen), 0))
        .join(Organisation, Organisation.id == Voucher.enterprise_id)
        .where(Voucher.year == year, Voucher.state.in_(BUDGET_STATES),
               ~Organisation.region_code.startswith(region))) or 0


def ledger_for(org: Organisation, year: int, links: frozenset = frozenset()) -> rules.Ledger:
    return rules.Ledger(today=local_today(), group_committed_fen=group_committed_fen(org, year),
                        links=links)


def check_enterprise(org: Organisation, declared_class: str | None, declaration: dict | None,
                     policy: SubsidyPolicy) -> rules.Eligible | list[rules.Problem]:
    return rules.eligibility(enterprise_facts(org, declaration), None, None, None, policy.rules,
                             ledger_for(org, policy.year), declared_class=declared_class)


def class_options(org: Organisation, policy: SubsidyPolicy) -> list[dict]:
    """Every class of the policy with its rate, yearly cap and whether the verified profile
    fits it, so that an enterprise fitting several chooses seeing them side by side."""
    facts, today = enterprise_facts(org), local_today()
    return [{"code": rule.code, "rate": rule.rate, "cap_per_year_fen": rule.cap_per_year_fen,
             "fits": not rules.class_misses(facts, rule.code, policy.rules, today)}
            for rule in class_rules(policy.rules)]


# --- applications ----------------------------------------------------------------------------
def apply_for_voucher(user: User, *, amount_fen: int, project: str, declared_class: str,
                      declaration: dict) -> Voucher:
    """An enterprise member applies for part of the year's quota; refused with every reason
    when the enterprise is not eligible or the amount is over its remaining cap."""
    if not user.email_confirmed:
        raise VoucherError.one("email_unconfirmed", _l(
            "Confirm your e-mail address first: open the link we sent you."))
    policy = stored_policy()
    _lock_budget(policy.year)  # applications queue too: two at once cannot both fit the cap
    declaration = complete_declaration(user.organisation, declaration)
    result = check_enterprise(user.organisation, declared_class, declaration, policy)
    if isinstance(result, list):
        raise VoucherError(result)
    problems = rules.amount_problems(amount_fen, result.cap_remaining_fen)
    pending = group_pending_fen(user.organisation, policy.year)
    if not problems and amount_fen > result.cap_remaining_fen - pending:
        problems.append(Problem("pending_over_cap", _l(
            "With the %(pending)s already applied for and awaiting a decision, this passes "
            "the yearly cap: at most %(left)s more can be applied for."), {
            "pending": format_cny(pending),
            "left": format_cny(max(result.cap_remaining_fen - pending, 0))}))
    if problems:
        raise VoucherError(problems)
    voucher = Voucher(enterprise=user.organisation, applicant=user, policy=policy,
                      year=policy.year, state="applied", enterprise_class=result.enterprise_class,
                      rate=result.rate, project=project, declaration=declaration,
                      requested_fen=amount_fen)
    db.session.add(voucher)
    db.session.flush()
    audit.record("voucher.applied", actor=user, obj=voucher, amount_fen=amount_fen,
                 enterprise_class=result.enterprise_class, policy_version=policy.version)
    for staff in bureau_staff():  # work waiting: heard of at once, not only once overdue
        notifications.notify_applied(staff, voucher)
    return voucher


def _lock_budget(year: int) -> VoucherBudget:
    """Row lock on the year's budget: concurrent approvals queue here (PostgreSQL FOR UPDATE;
    SQLite's BEGIN IMMEDIATE already serialises writers)."""
    stored_policy(year)
    return db.session.scalars(select(VoucherBudget).where(VoucherBudget.year == year)
                              .with_for_update().execution_options(populate_existing=True)).one()


def _waiting_before(voucher: Voucher) -> list[tuple[int, int]]:
    """(id, amount asked) of the year's undecided applications that arrived before this one,
    in order of arrival."""
    return [tuple(row) for row in db.session.execute(select(
        Voucher.id, Voucher.requested_fen).where(
        Voucher.year == voucher.year, Voucher.state == "applied", Voucher.id != voucher.id,
        or_(Voucher.created_at < voucher.created_at,
            (Voucher.created_at == voucher.created_at) & (Voucher.id < voucher.id)))
        .order_by(Voucher.created_at, Voucher.id))]


def approve_voucher(voucher: Voucher, actor: User, amount_fen: int | None = None,
                    reason: str = "") -> None:
    """Approve (possibly a smaller amount than asked, with the reason the enterprise reads):
    the voucher is issued at once and its face value is committed against the budget of the
    batches released so far."""
    budget = _lock_budget(voucher.year)
    db.session.refresh(voucher)
    _decidable(voucher)
    amount = voucher.requested_fen if amount_fen is None else amount_fen
    policy = current_policy(voucher.year)
    result = check_enterprise(voucher.enterprise, voucher.enterprise_class, voucher.declaration,
                              policy)
    if isinstance(result, list):
        raise VoucherError(result)
    quarter = quarter_of(local_today())
    allowance = rules.budget_allowance_fen(policy.rules, quarter)
    problems = rules.approval_problems(amount, allowance, budget.committed_fen,
                                       result.cap_remaining_fen)
    if policy.rules["budget"].get("allocation") == "first_come_first_served":
        problems += rules.arrival_problems(_waiting_before(voucher),
                                           allowance - budget.committed_fen)
    region = policy.rules.get("region_code", "")
    if not (voucher.enterprise.region_code or "").startswith(region):
        problems += rules.non_local_problems(amount, non_local_committed_fen(voucher.year, region),
                                             policy.rules)
    if amount > voucher.requested_fen:
        problems.append(Problem("over_request",
                                _l("The approved amount cannot exceed the amount applied for")))
    elif amount < voucher.requested_fen and not reason.strip():
        problems.append(Problem("reason_for_less", _l(
            "Say why less than the amount applied for is approved: the enterprise reads it.")))
    if problems:
        raise VoucherError(problems)
    budget.committed_fen += amount
    voucher.state, voucher.face_value_fen, voucher.quarter = "issued", amount, quarter
    voucher.policy, voucher.rate = policy, class_rule(policy.rules, voucher.enterprise_class).rate
    voucher.valid_until = year_end_utc(voucher.year)
    _decide(voucher, actor, reason.strip() if amount < voucher.requested_fen else "")
    audit.record("voucher.approved", actor=actor, obj=voucher, face_value_fen=amount,
                 quarter=quarter, policy_version=policy.version,
                 reason=voucher.decision_reason)
    notifications.notify_approved(voucher)


def reject_voucher(voucher: Voucher, actor: User, reason: str) -> None:
    _decidable(voucher)
    if not reason.strip():
        raise VoucherError.one("reason", _l("Give a reason for the rejection"))
    voucher.state = "rejected"
    _decide(voucher, actor, reason.strip())
    audit.record("voucher.rejected", actor=actor, obj=voucher, reason=reason.strip())
    notifications.notify_rejected(voucher)


def _decide(voucher: Voucher, actor: User, reason: str) -> None:
    voucher.decided_by_id, voucher.decided_at = actor.id, now_utc()
    voucher.decision_reason = reason


# --- expiry and listing ----------------------------------------------------------------------
def expire_vouchers(at: datetime | None = None) -> int:
    """Issued vouchers past their validity expire; undecided applications of past years lapse,
    and their applicants are told (the daily `flask vouchers expire`)."""
    at = at or now_utc()
    stale = db.session.scalars(select(Voucher).where(or_(
        (Voucher.state == "issued") & (Voucher.valid_until <= at),
        (Voucher.state == "applied") & (Voucher.year < local_today(at).year)))).all()
    for voucher in stale:
        lapsed = voucher.state == "applied"
        voucher.state = "expired"
        audit.record("voucher.expired", obj=voucher, remaining_fen=voucher.face_value_fen -
                     voucher.used_fen)
        if lapsed:
            notifications.notify_lapsed(voucher)
    db.session.flush()
    return len(stale)


def vouchers_visible_to(user: User, state: str | None = None):
    """A query of the vouchers `user` may see (bureau staff: all; an enterprise member: the
    enterprise's), newest first; `state`: as of now, as each is shown."""
    query = select(Voucher).order_by(Voucher.id.desc())
    if not user.is_bureau:  # an unconfirmed member sees none (Voucher.can_view)
        query = query.where(Voucher.enterprise_id == user.organisation_id,
                            true() if user.membership_confirmed else false())
    return query if state is None else query.where(in_state_as_of(state, now_utc()))


def vouchers_of(org: Organisation) -> list[Voucher]:
    """An enterprise's vouchers, newest first (a read: expiry is shown by Voucher.state_at)."""
    return list(db.session.scalars(select(Voucher).where(Voucher.enterprise_id == org.id)
                                   .order_by(Voucher.created_at.desc(), Voucher.id.desc())))


def _pending() -> list[Voucher]:
    """This year's undecided applications in order of arrival, with their policy."""
    return list(db.session.scalars(select(Voucher).where(
        Voucher.state == "applied", Voucher.year >= local_today().year)
        .options(selectinload(Voucher.policy)).order_by(Voucher.created_at, Voucher.id)))


def overdue_applications(now: datetime | None = None) -> list[Voucher]:
    """This year's applications still undecided past their review deadline."""
    now = now or now_utc()
    return [voucher for voucher in _pending() if voucher.is_overdue(now)]


def remind_overdue(now: datetime | None = None) -> int:
    """Tell every active bureau staff member which applications are overdue (the daily
    `flask vouchers remind`); returns how many are."""
    overdue = overdue_applications(now)
    if overdue:
        for user in bureau_staff():
            notifications.notify_overdue(user, overdue)
    return len(overdue)


def bureau_staff() -> list[User]:
    return list(db.session.scalars(select(User).join(User.roles).where(
        Role.name.in_(("bureau_staff", "admin")), User.active.is_(True)).distinct()
        .order_by(User.id)))


def recent_decisions(limit: int = 20) -> list[Voucher]:
    return list(db.session.scalars(select(Voucher).where(Voucher.state != "applied")
                                   .order_by(Voucher.decided_at.desc(), Voucher.id.desc())
                                   .limit(limit)))


def budget_status(year: int) -> dict:
    policy = current_policy(year)
    budget = db.session.get(VoucherBudget, year)  # None until the year's first write
    quarter = quarter_of(local_today()) if local_today().year == year else 4
    allowance = rules.budget_allowance_fen(policy.rules, quarter)
    committed = budget.committed_fen if budget else 0
    return {"year": year, "quarter": quarter, "budget_fen": policy.budget_fen,
            "allowance_fen": allowance, "committed_fen": committed,
            "available_fen": max(allowance - committed, 0)}


# --- declared related-party links ------------------------------------------------------------
def declare_link(enterprise: Organisation, institution: Organisation, kind: str,
                 actor: User) -> OrganisationLink:
    """Record a tie (隶属、共建、产权纽带) that makes an enterprise and an institution related
    parties; vouchers then pay nothing for services between them."""
    if not enterprise.is_enterprise or not institution.is_provider:
        raise PolicyError.one("link_kinds",
                              _l("A link joins an enterprise and a university or institute."))
    if db.session.scalar(select(OrganisationLink.id).where(
            OrganisationLink.enterprise_id == enterprise.id,
            OrganisationLink.institution_id == institution.id, OrganisationLink.kind == kind)):
        raise PolicyError.one("link_exists", _l("This link is already declared."))
    link = OrganisationLink(enterprise_id=enterprise.id, institution_id=institution.id, kind=kind)
    db.session.add(link)
    db.session.flush()
    audit.record("organisation_link.declared", actor=actor, obj=link, kind=kind,
                 enterprise_id=enterprise.id, institution_id=institution.id)
    return link


def remove_link(link: OrganisationLink, actor: User, reason: str) -> None:
    """A link declared in error, or ended: vouchers pay for services between the two again
    from now on (what was refused meanwhile stays refused). The audit trail keeps it."""
    audit.record("organisation_link.removed", actor=actor, obj=link, kind=link.kind,
                 enterprise_id=link.enterprise_id, institution_id=link.institution_id,
                 declared_at=link.created_at.isoformat(), reason=reason[:500])
    db.session.delete(link)
    db.session.flush()


def declared_links() -> list[tuple[OrganisationLink, Organisation, Organisation]]:
    enterprise, institution = aliased(Organisation), aliased(Organisation)
    return list(db.session.execute(
        select(OrganisationLink, enterprise, institution)
        .join(enterprise, enterprise.id == OrganisationLink.enterprise_id)
        .join(institution, institution.id == OrganisationLink.institution_id)
        .order_by(enterprise.name_zh, institution.name_zh)).all())


def organisations_of_kinds(*kinds: str) -> list[Organisation]:
    return list(db.session.scalars(select(Organisation).where(Organisation.kind.in_(kinds))
                                   .order_by(Organisation.name_zh)))
