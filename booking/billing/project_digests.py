"""Each PI's monthly digest of their projects' money: what was charged and credited in the
month, and where each budget stands (the members hear of their own invoices; the PI, who
answers for the budget, heard of nothing). Run monthly from cron, after `billing close`.
Here, not in groups (which never reads invoices): a month close's charges belong to its month."""
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from booking.billing.models import Invoice
from booking.core.clock import Period, now_utc
from booking.extensions import db
from booking.groups import notifications, rules
from booking.groups.models import Project, ProjectDigest, ProjectEntry, ResearchGroup
from booking.groups.services import budgets_of


def send_month_digests(period: Period) -> int:
    """Tell every PI whose projects' ledgers moved money in the month; once per PI and month
    (running it again tells no one twice). Returns how many PIs were told."""
    moved = rules.month_money(db.session.execute(select(
        ProjectEntry.project_id, ProjectEntry.kind, ProjectEntry.amount_fen)
        .outerjoin(Invoice, Invoice.id == ProjectEntry.invoice_id).where(
        ProjectEntry.kind.in_(("charge", "credit")),
        # a month close's invoice belongs to its month, though written early the next
        or_(Invoice.period == period.label,
            Invoice.period.is_(None) & (ProjectEntry.created_at >= period.start)
            & (ProjectEntry.created_at < period.end)))))
    if not moved:
        return 0
    projects = db.session.scalars(select(Project).where(Project.id.in_(moved)).options(
        selectinload(Project.group).selectinload(ResearchGroup.pi))
        .order_by(Project.number, Project.id)).all()
    budgets = budgets_of(projects)
    told = set(db.session.scalars(select(ProjectDigest.pi_id).where(
        ProjectDigest.month == period.label)))
    by_pi: dict[int, list[Project]] = {}
    for project in projects:
        by_pi.setdefault(project.group.pi_id, []).append(project)
    sent = 0
    for pi_id, own in by_pi.items():
        if pi_id in told:
            continue
        db.session.add(ProjectDigest(pi_id=pi_id, month=period.label, projects=len(own),
                                     sent_at=now_utc()))
        notifications.notify_month_digest(
            own[0].group.pi, period.label,
            [(project, moved[project.id], budgets[project.id]) for project in own])
        sent += 1
    return sent
