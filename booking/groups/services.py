"""Groups, members, project accounts and their ledger, and the PI's approvals. Flush, never
commit: the route (or CLI command) commits once. Bookings and billing call these functions;
this area tells the bookings area of the PI's decisions through `pi_decided`."""
from datetime import date, datetime
from typing import NamedTuple

from blinker import Namespace
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import Select, case, func, select, update

from booking.accounts.models import User
from booking.core import audit
from booking.core.clock import now_utc
from booking.core.money import format_cny
from booking.core.problems import Problem, Refused, _l
from booking.extensions import db
from booking.groups import limits, notifications, rules
from booking.groups.models import (
    BOOKINGS,
    GroupMember,
    PiApproval,
    Project,
    ProjectEntry,
    ResearchGroup,
)

#: Sent when the PI decided (or let lapse) a request: sender = the booking id, with
#: approved (True/False/None for lapsed), actor (the PI or None) and reason. The bookings area
#: answers: the lab sees the request, or the booking is rejected or expires.
pi_decided = Namespace().signal("pi-decided")


class GroupRefused(Refused):
    """A group, project or PI action is not allowed (nothing was changed)."""

    conflicts = frozenset({"not_pending", "already_member"})


# --- groups and members ------------------------------------------------------------------------
def create_group(pi: User, name: str, actor: User) -> ResearchGroup:
    group = ResearchGroup(organisation_id=pi.organisation_id, name=name.strip()[:200], pi=pi)
    db.session.add(group)
    db.session.flush()
    audit.record("group.created", actor=actor, obj=group, pi=pi.id)
    return group


def update_approval(group: ResearchGroup, actor: User, *, mode: str, threshold_fen: int,
                    categories: list[str]) -> None:
    group.approval_mode = mode
    group.approval_threshold_fen = threshold_fen
    group.approval_categories = categories
    audit.record("group.approval_set", actor=actor, obj=group, mode=mode,
                 threshold_fen=threshold_fen, categories=categories)


def invite(group: ResearchGroup, user: User | None, actor: User) -> GroupMember:
    """The PI invites a user of the group's organisation; they accept on their groups page."""
    if user is None or user.organisation_id != group.organisation_id or not user.active:
        raise GroupRefused.one("unknown_user", _l(
            "No active user with that e-mail in the group's organisation. Someone new signs "
            "in once first (with campus sign-on, or invited by the administrator), then asks "
            "to join from their groups page or is invited again."))
    if group.is_pi(user) or group.member(user) is not None:
        raise GroupRefused.one("already_member", _l("That user is already in the group."))
    member = GroupMember(group=group, user=user, state="invited")
    db.session.add(member)
    db.session.flush()
    audit.record("group.invited", actor=actor, obj=group, user=user.id)
    notifications.notify_invited(member)
    return member


def request_to_join(group: ResearchGroup, user: User) -> GroupMember:
    if not group.can_request_to_join(user):
        raise GroupRefused.one("already_member", _l("You cannot ask to join this group."))
    member = GroupMember(group=group, user=user, state="requested")
    db.session.add(member)
    db.session.flush()
    audit.record("group.join_requested", actor=user, obj=group)
    notifications.notify_join_requested(member)
    return member


def accept(member: GroupMember, actor: User) -> None:
    """An invitation accepted by the invited user, or a request accepted by the PI."""
    allowed = ((member.state == "invited" and actor.id == member.user_id) or
               (member.state == "requested" and member.group.can_manage(actor)))
    if not allowed:
        raise GroupRefused.one("not_pending", _l("There is nothing to accept."))
    member.state = "active"
    audit.record("group.joined", actor=actor, obj=member.group, user=member.user_id)


def remove(member: GroupMember, actor: User) -> None:
    """The PI removes a member (or declines), or a member leaves."""
    if not (member.group.can_manage(actor) or actor.id == member.user_id):
        raise GroupRefused.one("forbidden", _l("You cannot remove this member."))
    audit.record("group.left", actor=actor, obj=member.group, user=member.user_id)
    db.session.delete(member)


def groups_of(user: User) -> list[ResearchGroup]:
    """The groups a user leads or belongs to (any state), by name."""
    led = select(ResearchGroup.id).where(ResearchGroup.pi_id == user.id)
    joined = select(GroupMember.group_id).where(GroupMember.user_id == user.id)
    return list(db.session.scalars(select(ResearchGroup).where(
        ResearchGroup.id.in_(led.union(joined))).order_by(ResearchGroup.name)))


def joinable_groups(user: User) -> list[ResearchGroup]:
    mine = [g.id for g in groups_of(user)]
    return list(db.session.scalars(select(ResearchGroup).where(
        ResearchGroup.organisation_id == user.organisation_id,
        ResearchGroup.id.not_in(mine)).order_by(ResearchGroup.name)))


# --- projects ----------------------------------------------------------------------------------
def create_project(group: ResearchGroup, actor: User, **values) -> Project:
    if db.session.scalar(select(Project.id).where(Project.group_id == group.id,
                                                  Project.number == values["number"])):
        raise GroupRefused.one("duplicate_number", _l(
            "The group already has a project with that number."))
    project = Project(group=group, **values)
    db.session.add(project)
    db.session.flush()
    audit.record("project.created", actor=actor, obj=project, budget_fen=project.budget_fen)
    return project


def update_project(project: Project, actor: User, **values) -> None:
    """Change a project's number, title, funder, dates, budget or over-budget rule (a top-up,
    a typo); the budget never below what the project has spent already."""
    if values["number"] != project.number and db.session.scalar(select(Project.id).where(
            Project.group_id == project.group_id, Project.number == values["number"])):
        raise GroupRefused.one("duplicate_number", _l(
            "The group already has a project with that number."))
    spent = budget_of(project).spent_fen
    if values["budget_fen"] < spent:
        raise GroupRefused.one("budget_below_spent", _l(
            "The budget cannot be less than what the project has spent (%(spent)s)."),
            spent=format_cny(spent))
    changes = {key: [_plain(getattr(project, key)), _plain(value)]
               for key, value in values.items() if getattr(project, key) != value}
    for key, value in values.items():
        setattr(project, key, value)
    if changes:
        audit.record("project.updated", actor=actor, obj=project, changes=changes)


def _plain(value):
    return value.isoformat() if isinstance(value, date) else value


def set_project_open(project: Project, actor: User, open_: bool) -> None:
    """Close a project (no new booking charges it; bookings that hold it stay charged, and
    their invoices charge it) or open it again."""
    if project.active != open_:
        project.active = open_
        audit.record("project.reopened" if open_ else "project.closed", actor=actor,
                     obj=project)


def chargeable_projects(user: User, day: date | None = None) -> list[Project]:
    """The active projects of the groups the user leads or is an active member of, valid on
    `day` when given."""
    member_of = select(GroupMember.group_id).where(GroupMember.user_id == user.id,
                                                   GroupMember.state == "active")
    led = select(ResearchGroup.id).where(ResearchGroup.pi_id == user.id)
    query = select(Project).where(Project.active.is_(True),
                                  Project.group_id.in_(member_of.union(led)))
    if day is not None:
        query = query.where(Project.valid_from <= day, Project.valid_until >= day)
    return list(db.session.scalars(query.order_by(Project.number)))


def default_project_select(user_id) -> Select:
    """The project a user's bookings are charged to unless they choose another (a statement,
    so that the booking API can read it with the instrument in one)."""
    return select(GroupMember.default_project_id).where(
        GroupMember.user_id == user_id, GroupMember.state == "active",
        GroupMember.default_project_id.is_not(None)).order_by(GroupMember.id).limit(1)


def default_project_id(user: User) -> int | None:
    return db.session.scalar(default_project_select(user.id))


def set_default_project(user: User, project: Project) -> None:
    member = project.group.member(user)
    if member is None or member.state != "active":
        raise GroupRefused.one("not_member", _l("Only a member sets a default project."))
    db.session.execute(update(GroupMember).where(GroupMember.user_id == user.id)
                       .values(default_project_id=None))
    member.default_project_id = project.id


def get_project(project_id: int | None) -> Project | None:
    return db.session.get(Project, project_id) if project_id else None


# --- the ledger --------------------------------------------------------------------------------
def _sums(where) -> dict[int, rules.Budget]:
    open_hold = (ProjectEntry.kind == "hold") & ProjectEntry.released_at.is_(None)
    rows = db.session.execute(select(
        Project.id, Project.budget_fen,
        func.coalesce(func.sum(case((ProjectEntry.kind == "charge", ProjectEntry.amount_fen),
                                    else_=0)), 0),
        func.coalesce(func.sum(case((ProjectEntry.kind == "credit", ProjectEntry.amount_fen),
                                    else_=0)), 0),
        func.coalesce(func.sum(case((open_hold, ProjectEntry.amount_fen), else_=0)), 0))
        .outerjoin(ProjectEntry, ProjectEntry.project_id == Project.id)
        .where(where).group_by(Project.id, Project.budget_fen))
    return {pid: rules.Budget(int(b), int(c), int(cr), int(h)) for pid, b, c, cr, h in rows}


def budget_of(project: Project) -> rules.Budget:
    return _sums(Project.id == project.id)[project.id]


def budgets_of(projects: list[Project]) -> dict[int, rules.Budget]:
    return _sums(Project.id.in_([p.id for p in projects])) if projects else {}


MONEY_RULES = frozenset({"over_budget", "over_limit"})  # a project may let its PI decide them


class Charge(NamedTuple):
    """What charging a fee to a project meets: the problems that refuse it, whether the PI
    decides first, and the money rules it goes over that the PI decides instead."""

    problems: list[Problem]
    to_pi: bool
    exceeded: tuple[Problem, ...] = ()

    def exceeds(self, code: str) -> bool:
        return any(p.code == code for p in self.exceeded)

    def warnings(self) -> list[Problem]:
        """What the booker is told before sending a request the PI will decide: the money
        rules it goes over, and that the PI approves it first."""
        return [*self.exceeded, rules.PI_DECIDES] if self.to_pi and not self.problems else []


def check_charge(project: Project, user: User, *, instrument_id: int, category: str,
                 fee_fen: int, day: date) -> Charge:
    """Whether `fee_fen` can be charged to the project, and whether the PI must approve
    first, with the project's row locked until commit: two bookings at once cannot both take
    the last of the budget (PostgreSQL; SQLite's requests already write one at a time)."""
    db.session.execute(select(Project.id).where(Project.id == project.id).with_for_update())
    return assess_charge(project, user, instrument_id=instrument_id, category=category,
                         fee_fen=fee_fen, day=day)


def assess_charge(project: Project, user: User, *, instrument_id: int, category: str,
                  fee_fen: int, day: date) -> Charge:
    """check_charge's answer without the lock (the booking form's quote). A booking over the
    budget or a limit goes to the PI when the project says so."""
    if not project.can_charge(user):
        return Charge([Problem("not_member", _l("You cannot charge this project."))], False)
    problems = rules.charge_problems(
        fee_fen=fee_fen, remaining_fen=budget_of(project).remaining_fen,
        limit=limits.tightest_for(project, instrument_id, category), active=project.active,
        valid=project.is_valid_on(day))
    exceeded = tuple(p for p in problems if p.code in MONEY_RULES)
    if exceeded and project.over_budget == "pi" and len(exceeded) == len(problems):
        problems = []  # the PI decides instead
    group = project.group
    to_pi = not group.is_pi(user) and rules.needs_pi_approval(
        group.approval_mode, threshold_fen=group.approval_threshold_fen,
        categories=group.approval_categories or [], fee_fen=fee_fen, category=category,
        over_budget=bool(exceeded))
    return Charge(problems, to_pi, exceeded)


def hold(project: Project, *, booking_id: int, fee_fen: int, instrument_id: int,
         category: str, description: str) -> None:
    """Hold the quoted fee while the booking is open."""
    db.session.add(ProjectEntry(project_id=project.id, kind="hold", amount_fen=max(fee_fen, 0),
                                booking_id=booking_id, instrument_id=instrument_id,
                                category=category or "", description=description[:300],
                                created_at=now_utc()))


def held_fee(booking_id: int) -> int:
    """What the booking's open hold keeps of its project (0: none)."""
    return int(db.session.scalar(select(func.coalesce(func.sum(ProjectEntry.amount_fen), 0))
                                 .where(ProjectEntry.booking_id == booking_id,
                                        ProjectEntry.kind == "hold",
                                        ProjectEntry.released_at.is_(None))))


def release_holds(booking_ids: list[int]) -> None:
    """The bookings ended without a charge, or their invoice charged them."""
    if booking_ids:
        db.session.execute(update(ProjectEntry).where(
            ProjectEntry.booking_id.in_(booking_ids), ProjectEntry.kind == "hold",
            ProjectEntry.released_at.is_(None)).values(released_at=now_utc()),
            execution_options={"synchronize_session": False})


def charge(project_id: int, *, invoice_id: int, amount_fen: int, booking_ids: list[int],
           instrument_id: int | None, category: str, description: str) -> None:
    """An invoice issued to the project: charged, and its bookings' holds released."""
    release_holds(booking_ids)
    db.session.add(ProjectEntry(project_id=project_id, kind="charge", amount_fen=amount_fen,
                                invoice_id=invoice_id, instrument_id=instrument_id,
                                category=category or "", description=description[:300],
                                created_at=now_utc()))


def credit(project_id: int, *, invoice_id: int, amount_fen: int, description: str,
           charged_invoice_id: int) -> None:
    """Money given back to the project for an invoice it was charged (by a credit note, or the
    invoice voided): on the instrument and category of that charge, so that the limits on
    them get it back too."""
    charged = db.session.execute(select(ProjectEntry.instrument_id, ProjectEntry.category).where(
        ProjectEntry.project_id == project_id, ProjectEntry.kind == "charge",
        ProjectEntry.invoice_id == charged_invoice_id).limit(1)).first()
    db.session.add(ProjectEntry(project_id=project_id, kind="credit", amount_fen=amount_fen,
                                invoice_id=invoice_id,
                                instrument_id=charged.instrument_id if charged else None,
                                category=charged.category if charged else "",
                                description=description[:300], created_at=now_utc()))


# --- the PI's approval -------------------------------------------------------------------------
def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="pi-approval")


def decision_token(approval: PiApproval, decision: str) -> str:
    return _serializer().dumps({"a": approval.id, "d": decision})


def approval_from_token(token: str) -> tuple[PiApproval, str]:
    """The approval and decision a signed link names; refused when the link is forged,
    expired, or already used (the approval was decided: a link works once)."""
    try:
        data = _serializer().loads(token, max_age=rules.LINK_MAX_AGE)
    except SignatureExpired:
        raise GroupRefused.one("link_expired", _l("This link has expired.")) from None
    except BadSignature:
        raise GroupRefused.one("link_invalid", _l("This link is not valid.")) from None
    approval = db.session.get(PiApproval, int(data.get("a", 0)))
    if approval is None or data.get("d") not in ("approve", "reject"):
        raise GroupRefused.one("link_invalid", _l("This link is not valid."))
    if approval.state != "pending":
        raise GroupRefused.one("not_pending", _l("This request was already decided."))
    return approval, data["d"]


def ask_pi(project: Project, requester: User, *, booking_id: int, fee_fen: int,
           over_budget: bool, summary: dict) -> PiApproval:
    """The bookings area asks the PI before the lab sees the request."""
    approval = PiApproval(booking_id=booking_id, group=project.group, project=project,
                          pi_id=project.group.pi_id, requester=requester, fee_fen=fee_fen,
                          over_budget=over_budget, summary=summary)
    db.session.add(approval)
    db.session.flush()
    audit.record("pi_approval.requested", actor=requester, obj=approval, booking=booking_id)
    notifications.notify_pi_asked(approval)
    return approval


def refresh_approval(booking_id: int, *, fee_fen: int, over_budget: bool, summary: dict
                     ) -> None:
    """The request the PI has yet to decide was moved: the PI decides on it as it is now."""
    approval = db.session.scalar(select(PiApproval).where(
        PiApproval.booking_id == booking_id, PiApproval.state == "pending"))
    if approval is not None:
        approval.fee_fen, approval.over_budget, approval.summary = fee_fen, over_budget, summary


def decide(approval: PiApproval, actor: User, *, approve: bool, reason: str = "") -> None:
    if not approval.can_decide(actor):
        raise GroupRefused.one("not_pending", _l("This request was already decided."))
    reason = (reason or "").strip()
    if not approve and not reason:
        raise GroupRefused.one("reason_required", _l(
            "Rejecting needs a reason for the requester."))
    approval.state = "approved" if approve else "rejected"
    approval.decided_at = now_utc()
    approval.reason = reason[:500]
    audit.record(f"pi_approval.{approval.state}", actor=actor, obj=approval,
                 booking=approval.booking_id, reason=approval.reason)
    pi_decided.send(approval.booking_id, approved=approve, actor=actor, reason=approval.reason)


def withdraw_approval(booking_id: int) -> None:
    """The request was cancelled before its PI decided: nothing is left to decide."""
    approval = db.session.scalar(select(PiApproval).where(
        PiApproval.booking_id == booking_id, PiApproval.state == "pending"))
    if approval is not None:
        approval.state, approval.decided_at = "withdrawn", now_utc()
        audit.record("pi_approval.withdrawn", obj=approval, booking=booking_id)


def is_confirmed(approval: PiApproval) -> bool:
    """Whether the request stands confirmed (after the PI approved it, the bookings area
    confirms it at once where the instrument needs no lab approval)."""
    return db.session.scalar(select(BOOKINGS.c.state).where(
        BOOKINGS.c.id == approval.booking_id)) == "approved"


def pending_for_pi(user: User) -> list[PiApproval]:
    return list(db.session.scalars(select(PiApproval).where(
        PiApproval.pi_id == user.id, PiApproval.state == "pending")
        .order_by(PiApproval.created_at)))


def pi_approval_of(booking_id: int) -> PiApproval | None:
    """The PI's decision asked for a booking, if one was."""
    return db.session.scalar(select(PiApproval).where(PiApproval.booking_id == booking_id))


def awaiting_pi(booking_ids) -> set[int]:
    """Which of these bookings still wait for their PI."""
    return set(db.session.scalars(select(PiApproval.booking_id).where(
        PiApproval.booking_id.in_(list(booking_ids)), PiApproval.state == "pending")))


def pi_approved_at(booking_ids) -> dict[int, datetime]:
    """When the PI approved these bookings (those the PI approved)."""
    if not booking_ids:
        return {}
    return dict(db.session.execute(select(PiApproval.booking_id, PiApproval.decided_at).where(
        PiApproval.booking_id.in_(list(booking_ids)), PiApproval.state == "approved"))
        .all())


def awaiting_pi_clause(booking_id_column):
    """A condition: the booking waits for its PI (the lab's queue leaves these out)."""
    return select(PiApproval.id).where(PiApproval.booking_id == booking_id_column,
                                       PiApproval.state == "pending").exists()


def lapse_and_remind(now: datetime | None = None) -> tuple[int, int]:
    """Undecided approvals past the PI's deadline lapse (the booking expires); those half-way
    there remind the PI once. Returns (lapsed, reminded)."""
    now = now or now_utc()
    lapsed = reminded = 0
    for approval in db.session.scalars(select(PiApproval).where(
            PiApproval.state == "pending").order_by(PiApproval.id)):
        if rules.pi_deadline(approval.created_at) <= now:
            approval.state, approval.decided_at = "expired", now
            audit.record("pi_approval.expired", obj=approval, booking=approval.booking_id)
            pi_decided.send(approval.booking_id, approved=None, actor=None, reason="")
            lapsed += 1
        elif rules.pi_reminder_due(approval.created_at, approval.reminded_at is not None, now):
            approval.reminded_at = now
            notifications.notify_pi_asked(approval, reminder=True)
            reminded += 1
    return lapsed, reminded
