"""The demo group: the DLUT student charges the group's project by default; seeding twice
changes nothing."""
from sqlalchemy import func, select

from booking.accounts.demo import seed_accounts
from booking.accounts.models import User
from booking.extensions import db
from booking.groups import demo, services
from booking.groups.models import ResearchGroup


def test_the_demo_group_is_seeded_once(app):
    seed_accounts()
    demo.seed("small")
    demo.seed("small")
    assert db.session.scalar(select(func.count()).select_from(ResearchGroup)) == 1
    student = db.session.scalar(select(User).where(User.email == "student.dlut@demo.cn"))
    project = services.get_project(services.default_project_id(student))
    assert project.number == "NSFC-22075012" and project.can_charge(student)
