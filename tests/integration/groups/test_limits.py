"""A project's limits: one per target, replaced when set again, refused cleanly when the same
target was set at the same moment by someone else."""
import pytest
from sqlalchemy import select

from booking.core.audit import AuditEvent
from booking.extensions import db
from booking.groups import limits
from booking.groups.models import ProjectLimit
from tests.factories.groups import create_group, create_project


@pytest.fixture
def project(make):
    pi = make.user(role="member")
    return create_project(create_group(pi)), pi


def test_setting_a_target_again_replaces_its_limit(project):
    project, pi = project
    limits.set_limit(project, pi, instrument_id=None, category="laser", limit_fen=100)
    limits.set_limit(project, pi, instrument_id=None, category="laser", limit_fen=300)
    db.session.commit()
    assert [(limit.category, limit.limit_fen) for limit in project.limits] == [("laser", 300)]
    assert [event.data.get("before_fen") for event in db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "project.limit_set")
        .order_by(AuditEvent.id))] == [None, 100]


def test_a_limit_set_at_the_same_moment_is_refused_and_nothing_half_written(project):
    project, pi = project
    assert project.limits == []  # what this request read
    db.session.execute(ProjectLimit.__table__.insert().values(  # another request's, meanwhile
        project_id=project.id, category="laser", limit_fen=50))
    with pytest.raises(limits.LimitRefused) as refused:
        limits.set_limit(project, pi, instrument_id=None, category="laser", limit_fen=100)
    assert refused.value.problems[0].code == "limit_conflict"
    db.session.rollback()


def test_an_unknown_category_is_refused(project):
    project, pi = project
    with pytest.raises(limits.LimitRefused):
        limits.set_limit(project, pi, instrument_id=None, category="电镜", limit_fen=1)


def test_a_limit_removed_at_the_same_moment_is_refused_not_a_crash(project):
    project, pi = project
    limits.set_limit(project, pi, instrument_id=None, category="laser", limit_fen=100)
    db.session.commit()
    assert len(project.limits) == 1  # what this request read
    db.session.execute(ProjectLimit.__table__.delete())  # another request's, meanwhile
    with pytest.raises(limits.LimitRefused):
        limits.set_limit(project, pi, instrument_id=None, category="laser", limit_fen=300)
    db.session.rollback()
