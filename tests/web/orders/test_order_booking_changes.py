"""The instrument time a lab schedules for a test order is the lab's to move or cancel: its
customer saw Move and Cancel on it in My bookings, cancelled it free of charge under the lab's
plans, and its move page quoted a price the order's invoice pays."""
from datetime import timedelta

import pytest
from freezegun import freeze_time

from booking.accounts.services import create_api_token
from booking.extensions import db
from booking.orders import services
from tests.moments import MONDAY_7_DEC_9AM


@pytest.fixture
def scheduled(make):
    """A received order whose lab scheduled Tuesday 10:00-11:00 for it; (lab, customer,
    booking)."""
    with freeze_time(MONDAY_7_DEC_9AM):
        lab = make.testing_lab()
        customer = make.voucher().applicant
        order = make.order(lab.instrument, customer)
        services.accept_order(order, lab.manager)
        services.receive_order(order, lab.manager, condition="ok")
        start = MONDAY_7_DEC_9AM + timedelta(days=1, hours=1)
        booking = services.schedule_booking(order, lab.manager, start=start,
                                            end=start + timedelta(hours=1))
        db.session.commit()
    return lab, customer, booking


def test_its_customer_may_neither_move_nor_cancel_it(client, login, scheduled):
    lab, customer, booking = scheduled
    with freeze_time(MONDAY_7_DEC_9AM):
        login(customer)  # inside: a session cookie signed "later" does not verify
        mine = client.get("/bookings/mine").get_data(as_text=True)
        assert f"/bookings/{booking.id}/reschedule" not in mine
        assert f"/bookings/{booking.id}/cancel" not in mine
        cancelled = client.post(f"/bookings/{booking.id}/cancel", follow_redirects=True)
        moved = client.get(f"/bookings/{booking.id}/reschedule", follow_redirects=True)
    for answer in (cancelled, moved):
        assert "如需改期或取消，请联系实验室" in answer.get_data(as_text=True)
    db.session.refresh(booking)
    assert booking.state == "approved"


def test_the_api_refuses_its_customer_and_lets_the_lab_cancel(client, scheduled):
    lab, customer, booking = scheduled
    tokens = {who: create_api_token(user, "t")[1]
              for who, user in (("customer", customer), ("lab", lab.manager))}
    db.session.commit()
    with freeze_time(MONDAY_7_DEC_9AM):
        refused = client.post(f"/api/v1/bookings/{booking.id}/cancel", json={},
                              headers={"Authorization": f"Bearer {tokens['customer']}"})
        assert refused.status_code == 403
        assert refused.json["error"]["code"] == "scheduled_by_lab"
        done = client.post(f"/api/v1/bookings/{booking.id}/cancel",
                           json={"reason": "instrument down"},
                           headers={"Authorization": f"Bearer {tokens['lab']}"})
    assert done.status_code == 200 and done.json["state"] == "cancelled"
