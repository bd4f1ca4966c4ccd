"""Demo research group: manager.dlut@demo.cn leads 纳米材料课题组 with student.dlut@demo.cn as
a member charging a project account (经费卡) by default; the PI approves requests above 500 元.
Idempotent: an existing group of that name is left as it is."""
from datetime import date

from sqlalchemy import select

from booking.accounts.models import User
from booking.extensions import db
from booking.groups.models import GroupMember, Project, ResearchGroup

NAME = "纳米材料课题组"


def seed(scale: str) -> None:
    pi = db.session.scalar(select(User).where(User.email == "manager.dlut@demo.cn"))
    student = db.session.scalar(select(User).where(User.email == "student.dlut@demo.cn"))
    if pi is None or student is None or db.session.scalar(
            select(ResearchGroup.id).where(ResearchGroup.name == NAME)):
        return
    group = ResearchGroup(organisation_id=pi.organisation_id, name=NAME, pi=pi,
                          approval_mode="above_fee", approval_threshold_fen=50_000,
                          approval_categories=[])
    project = Project(group=group, number="NSFC-22075012", title="二维材料界面电子结构研究",
                      funder="国家自然科学基金委员会", valid_from=date(2026, 1, 1),
                      valid_until=date(2028, 12, 31), budget_fen=2_000_000, over_budget="pi")
    db.session.add_all([group, project])
    db.session.flush()
    db.session.add(GroupMember(group=group, user=student, state="active",
                               default_project_id=project.id))
    db.session.flush()
