"""The demo accounts, and the generated members of the city scale."""
from sqlalchemy import func, select

from booking.accounts import demo
from booking.accounts.models import User
from booking.extensions import db


def test_city_scale_has_500_users_who_can_log_in(app):
    demo.seed("city")
    demo.seed("city")  # idempotent
    assert db.session.scalar(select(func.count()).select_from(User)) == 500
    generated = db.session.scalar(select(User).where(User.email.like("user%@demo.cn")).limit(1))
    assert generated.check_password(demo.DEMO_PASSWORD) and generated.membership_confirmed
    assert generated.roles and generated.roles[0].organisation_id == generated.organisation_id
    demo_student = db.session.scalar(select(User).where(User.email == "student.dlut@demo.cn"))
    assert [r.name for r in demo_student.roles] == ["student"]
