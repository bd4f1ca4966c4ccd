"""deactivate_user: the user stops, their future bookings are cancelled and counted, the last
active admin stays."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from booking.accounts.deactivation import DeactivationError, deactivate_user, reactivate_user
from booking.accounts.models import User
from booking.core.audit import AuditEvent
from booking.core.clock import now_utc
from booking.extensions import db


def test_cancels_future_bookings_and_returns_their_number(make):
    instrument = make.instrument()
    user = make.user()
    soon = now_utc().replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    pending = make.placed_booking(instrument, user, soon, state="pending")
    approved = make.placed_booking(instrument, user, soon + timedelta(hours=2))
    running = make.placed_booking(instrument, user, now_utc() - timedelta(minutes=30),
                                  state="in_use")
    assert deactivate_user(user, actor=None, reason="graduated") == 2
    assert (pending.state, approved.state, running.state) == ("cancelled", "cancelled", "in_use")
    assert not user.active
    assert deactivate_user(user, actor=None, reason="again") == 0  # already inactive
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "user.deactivated")).one()
    assert event.data["reason"] == "graduated"
    reactivate_user(user, actor=None)
    assert user.active


def test_the_last_active_admin_cannot_be_deactivated(make):
    for other in db.session.scalars(select(User)):
        if other.is_admin:
            other.active = False
    admin = make.user(role="admin")
    with pytest.raises(DeactivationError):
        deactivate_user(admin, actor=admin, reason="x")
    second = make.user(role="admin")
    assert deactivate_user(admin, actor=second, reason="x") == 0 and not admin.active
