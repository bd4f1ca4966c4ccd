"""Moving a booking charged to a project: the project holds the fee of the new time, under its
limits and budget; a request its PI has yet to decide is shown to the PI as it now is (the lab
still does not see it); a higher fee the PI would have to approve anew is refused."""
import pytest
from freezegun import freeze_time
from sqlalchemy import select

from booking.bookings.models import Booking
from booking.core.notifications import OutboxMessage
from booking.extensions import db
from booking.groups import limits
from booking.groups.models import PiApproval, ProjectEntry
from booking.groups.services import held_fee
from tests.factories import dummy_lab
from tests.factories.groups import create_group, create_project
from tests.moments import MONDAY_23_NOV_8AM


@pytest.fixture
def world(make):
    lab = dummy_lab(requires_approval=True)
    pi = make.user(role="member", organisation=lab.organisation, name="王导师", locale="en")
    student = make.user(role="student", organisation=lab.organisation, locale="en")
    group = create_group(pi, members=[student], approval_mode="always")
    project = create_project(group, budget_fen=50_000, default_for=[student])
    return {"lab": lab, "pi": pi, "student": student, "project": project}


@pytest.fixture(autouse=True)
def frozen():
    with freeze_time(MONDAY_23_NOV_8AM):
        yield


def _book(client, login, world, hours=1) -> Booking:
    login(world["student"])
    client.post(f"/instruments/{world['lab'].instrument.id}/book", data={
        "start": "2026-11-24T10:00", "end": f"2026-11-24T{10 + hours}:00",
        "mode": "self_operated", "purpose": "XPS", "project": world["project"].id})
    return db.session.scalar(select(Booking))


def _move(client, booking, start, end):
    return client.post(f"/bookings/{booking.id}/reschedule", data={
        "start": start, "end": end, "submit": "1"})


def test_a_move_over_a_limit_is_refused_and_changes_nothing(client, login, world):
    limits.set_limit(world["project"], world["pi"], instrument_id=world["lab"].instrument.id,
                     category=None, limit_fen=15_000)
    db.session.commit()
    booking = _book(client, login, world)
    assert held_fee(booking.id) == 10_000
    page = _move(client, booking, "2026-11-25T10:00", "2026-11-25T13:00")
    assert page.status_code == 422 and "limit for this instrument" in page.get_data(
        as_text=True)
    db.session.expire_all()
    assert (booking.start_at.day, held_fee(booking.id)) == (24, 10_000)


def test_a_request_the_pi_has_not_decided_moves_with_its_fee_and_summary(client, login,
                                                                         world):
    booking = _book(client, login, world)
    lab_mail = len(db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.recipient == world["lab"].manager.email)).all())
    assert _move(client, booking, "2026-11-25T10:00", "2026-11-25T12:00").status_code == 302
    approval = db.session.scalar(select(PiApproval))
    db.session.refresh(approval)
    assert approval.fee_fen == 20_000 and approval.summary["when"].startswith("2026-11-25 10:00")
    assert held_fee(booking.id) == 20_000
    assert db.session.scalar(select(ProjectEntry.released_at).where(
        ProjectEntry.amount_fen == 10_000)) is not None  # the old hold let go
    assert len(db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.recipient == world["lab"].manager.email)).all()) == lab_mail


def test_a_higher_fee_the_pi_approved_at_a_lower_one_is_not_moved(client, login, world):
    booking = _book(client, login, world)
    login(world["pi"])
    client.post(f"/groups/approvals/{db.session.scalar(select(PiApproval.id))}/approve")
    login(world["student"])
    page = _move(client, booking, "2026-11-25T10:00", "2026-11-25T12:00")
    assert page.status_code == 422 and "book the new time as a new request" in page.get_data(
        as_text=True)
    # the same length at another time: the PI's approval still covers it
    assert _move(client, booking, "2026-11-25T10:00", "2026-11-25T11:00").status_code == 302
    assert held_fee(booking.id) == 10_000
