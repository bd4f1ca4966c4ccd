"""A rate to come changes the estimates of bookings to come: their bookers are told.
Reported: a rise from 9 December made an approved booking's page say ¥1,210 instead of the
¥1,010 the booker was quoted, and nobody was told."""
from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from booking.core.notifications import OutboxMessage
from booking.extensions import db
from tests.moments import MONDAY_23_NOV_8AM, TUESDAY_24_NOV_10AM

DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def frozen():
    with freeze_time(MONDAY_23_NOV_8AM):
        yield


def _told(user) -> list[OutboxMessage]:
    return db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == "booking.estimate_changed",
        OutboxMessage.recipient == user.email).order_by(OutboxMessage.id)).all()


def test_a_new_rate_tells_the_bookers_it_prices_anew_and_a_withdrawal_too(client, login,
                                                                         make):
    owner = make.organisation()
    instrument = make.instrument(organisation=owner)  # enterprise 400 元/h since 2020
    manager = make.user(role="lab_manager", organisation=owner)
    sme, colleague = make.user(organisation=make.enterprise()), make.user(organisation=owner)
    make.placed_booking(instrument, sme, TUESDAY_24_NOV_10AM)  # 24 Nov: before the new rate
    make.placed_booking(instrument, sme, TUESDAY_24_NOV_10AM + 14 * DAY,
                                minutes=120)  # 8 Dec, 2 h
    make.placed_booking(instrument, sme, TUESDAY_24_NOV_10AM + 16 * DAY)  # 10 Dec, 1 h
    make.placed_booking(instrument, sme, TUESDAY_24_NOV_10AM + 17 * DAY,  # a test order's
                        billed_separately=True)  # time: priced on the order, not told
    make.placed_booking(instrument, colleague, TUESDAY_24_NOV_10AM + 15 * DAY)
    db.session.commit()
    login(manager)
    added = client.post(f"/lab/instruments/{instrument.id}/rates", data={
        "rate-customer_class": "enterprise", "rate-hourly": "500", "rate-rounding_minutes": "15",
        "rate-minimum_minutes": "30", "rate-setup_fee": "0", "rate-valid_from": "2026-12-01"},
        follow_redirects=True)
    assert "已通知 1 位预约人其预约的新预计费用。" in added.get_data(as_text=True)  # bookers
    [mail] = _told(sme)  # one for both bookings; the one of 24 November keeps its rate
    assert mail.subject.startswith("您预约的") and "预计费用已变更" in mail.subject
    assert "- 2026-12-08 10:00–12:00 (Asia/Shanghai)：¥1,000.00（原为 ¥800.00）" in mail.body
    assert "- 2026-12-10 10:00–11:00 (Asia/Shanghai)：¥500.00（原为 ¥400.00）" in mail.body
    assert "2026-12-11" not in mail.body and "2026-11-24" not in mail.body
    assert "预约开始前 24 小时以前可免费取消" in mail.body
    assert _told(colleague) == []  # internal class: its rate did not change
    rate = next(r for r in instrument.rates if r.hourly_fen == 50_000)
    withdrawn = client.post(f"/lab/instruments/{instrument.id}/rates/{rate.id}/delete",
                            follow_redirects=True)
    assert "已通知 1 位预约人" in withdrawn.get_data(as_text=True)
    assert "：¥800.00（原为 ¥1,000.00）" in _told(sme)[-1].body


def test_no_free_cancellation_is_offered_once_its_deadline_has_passed(make):
    from booking.instruments import services

    instrument = make.instrument()
    sme = make.user(organisation=make.enterprise())
    make.placed_booking(instrument, sme, MONDAY_23_NOV_8AM + timedelta(hours=5))  # today
    manager = make.user(role="lab_manager", organisation=instrument.organisation)
    services.add_rate(instrument, customer_class="enterprise", hourly_fen=50_000,
                      rounding_minutes=15, minimum_minutes=30, setup_fee_fen=0,
                      valid_from=MONDAY_23_NOV_8AM, actor=manager)
    [mail] = _told(sme)
    assert "免费取消" not in mail.body  # 24 h before it started had passed already


INTERNAL_RISE = {"rate-customer_class": "internal", "rate-hourly": "150",
                 "rate-rounding_minutes": "15", "rate-minimum_minutes": "30",
                 "rate-setup_fee": "0", "rate-valid_from": "2026-11-24"}  # 100 → 150 元/h


def _charged_booking(client, login, make, approval_mode="none"):
    """A student's 2-hour booking of 25 November charged to their project (100 元/h:
    ¥200 held), then the lab manager signed in: (lab, project, booking)."""
    from booking.bookings.models import Booking
    from tests.factories import dummy_lab
    from tests.factories.groups import create_group, create_project

    lab = dummy_lab()
    pi = make.user(organisation=lab.organisation)
    student = make.user(role="student", organisation=lab.organisation)
    project = create_project(create_group(pi, members=[student], approval_mode=approval_mode),
                             budget_fen=50_000, default_for=[student])
    manager = make.user(role="lab_manager", organisation=lab.organisation)
    db.session.commit()
    login(student)
    client.post(f"/instruments/{lab.instrument.id}/book", data={
        "start": "2026-11-25T10:00", "end": "2026-11-25T12:00", "mode": "self_operated",
        "purpose": "XPS", "project": project.id})
    client.post("/logout")
    login(manager)
    return lab, project, db.session.scalar(select(Booking))


def test_what_a_project_holds_for_a_booking_follows_its_new_estimate(client, login, make):
    """Reported: a rate rise left the project holding the old estimate, so its budget showed
    more left than the bookings to come would cost."""
    from booking.groups.services import budget_of, held_fee

    lab, project, booking = _charged_booking(client, login, make)
    assert held_fee(booking.id) == 20_000
    client.post(f"/lab/instruments/{lab.instrument.id}/rates", data=INTERNAL_RISE)
    assert held_fee(booking.id) == 30_000
    assert budget_of(project).remaining_fen == 20_000
    rate = next(r for r in lab.instrument.rates if r.hourly_fen == 15_000)
    client.post(f"/lab/instruments/{lab.instrument.id}/rates/{rate.id}/delete")
    assert held_fee(booking.id) == 20_000 and budget_of(project).remaining_fen == 30_000


def test_a_request_its_pi_has_yet_to_decide_shows_the_new_fee(client, login, make):
    """The review: the hold followed the rise, the PI's pending request still said ¥200."""
    from booking.groups.models import PiApproval
    from booking.groups.services import held_fee

    lab, _project, booking = _charged_booking(client, login, make, approval_mode="always")
    approval = db.session.scalar(select(PiApproval).where(PiApproval.booking_id == booking.id))
    assert (approval.state, approval.fee_fen, held_fee(booking.id)) == ("pending", 20_000, 20_000)
    client.post(f"/lab/instruments/{lab.instrument.id}/rates", data=INTERNAL_RISE)
    assert (approval.fee_fen, held_fee(booking.id)) == (30_000, 30_000)
