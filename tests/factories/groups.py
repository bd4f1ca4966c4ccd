"""Research groups and project accounts (issue 19)."""
from datetime import date

from booking.extensions import db


def create_group(pi, members=(), approval_mode="none", threshold_fen=0, name="纳米材料课题组"):
    """A group led by `pi` with `members` already active."""
    from booking.groups.models import GroupMember, ResearchGroup

    group = ResearchGroup(organisation_id=pi.organisation_id, name=name, pi=pi,
                          approval_mode=approval_mode, approval_threshold_fen=threshold_fen,
                          approval_categories=[])
    db.session.add(group)
    for user in members:
        db.session.add(GroupMember(group=group, user=user, state="active"))
    db.session.commit()
    return group


def create_project(group, budget_fen=50_000, over_budget="refuse", number="NSFC-22075",
                   valid_from=date(2026, 1, 1), valid_until=date(2027, 12, 31), default_for=()):
    """A project account of `group`; the default project of the members `default_for`."""
    from booking.groups.models import Project

    project = Project(group=group, number=number, title="二维材料的电子结构", funder="NSFC",
                      valid_from=valid_from, valid_until=valid_until, budget_fen=budget_fen,
                      over_budget=over_budget)
    db.session.add(project)
    db.session.flush()
    for user in default_for:
        group.member(user).default_project_id = project.id
    db.session.commit()
    return project
