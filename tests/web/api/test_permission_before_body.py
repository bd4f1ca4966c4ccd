"""Every API action on an object named in the URL answers who may act (404, 403) before it
reads the body: a stranger sending anything learns neither the body's rules (a 422) nor
whether the object exists."""
import pytest
from freezegun import freeze_time

from tests.moments import MONDAY_23_NOV_8AM, TUESDAY_24_NOV_10AM

JUNK = {"x": 1}


@pytest.fixture
def world(make, api_token):
    with freeze_time(MONDAY_23_NOV_8AM):
        owner = make.organisation()
        manager = make.user(role="lab_manager", organisation=owner)
        instrument = make.instrument(organisation=owner, requires_approval=True)
        booker = make.user()
        booking = make.booking(instrument, booker, TUESDAY_24_NOV_10AM)
        voucher = make.voucher(approve=False)
    return {"instrument": instrument, "booking": booking, "voucher": voucher,
            "manager": api_token(manager), "booker": api_token(booker),
            "stranger": api_token(make.user()),
            "other_lab": api_token(make.user(role="lab_manager"))}


def _post(client, path, headers, method="post"):
    return getattr(client, method)(f"/api/v1{path}", json=JUNK, headers=headers).status_code


def test_bookings(client, world):
    b = world["booking"].id
    assert _post(client, f"/bookings/{b}/reject", world["stranger"]) == 404
    assert _post(client, f"/bookings/{b}/reject", world["booker"]) == 403
    assert _post(client, f"/bookings/{b}/cancel", world["stranger"]) == 404
    assert _post(client, "/bookings/999999/cancel", world["booker"]) == 404
    assert _post(client, f"/bookings/{b}/reject", world["manager"]) == 422  # the lab's: read


def test_series(client, world):
    for action in ("reject", "cancel"):
        assert _post(client, f"/series/999999/{action}", world["manager"]) == 404


def test_vouchers(client, world):
    v = world["voucher"].id
    for action in ("approve", "reject"):
        assert _post(client, f"/vouchers/{v}/{action}", world["manager"]) == 403


def test_instruments(client, world):
    i = world["instrument"].id
    for path, method in ((f"/instruments/{i}", "patch"), (f"/instruments/{i}/rates", "post"),
                         (f"/instruments/{i}/opening-hours", "put"),
                         (f"/instruments/{i}/blackouts", "post")):
        assert _post(client, path, world["other_lab"], method) == 403, path
        assert _post(client, "/instruments/999999" + path.split(str(i))[1],
                     world["manager"], method) == 404, path
        assert _post(client, path, world["manager"], method) == 422, path


def test_waitlist(client, world):
    assert _post(client, "/instruments/999999/waitlist", world["booker"]) == 404


def test_the_series_booker_alone_cancels_and_waiting_needs_a_booking(client, world):
    with freeze_time(MONDAY_23_NOV_8AM):
        made = client.post("/api/v1/bookings", headers=world["booker"], json={
            "instrument_id": world["instrument"].id, "start": "2026-11-25T10:00:00+08:00",
            "end": "2026-11-25T11:00:00+08:00", "purpose": "weekly",
            "repeat": {"freq": "weekly", "count": 2}}).get_json()
        series = made["series_id"]
        assert _post(client, f"/series/{series}/cancel", world["manager"]) == 403  # not 422
        assert _post(client, f"/series/{series}/reject", world["booker"]) == 403
        assert _post(client, f"/series/{series}/cancel", world["booker"]) == 422  # theirs
    assert _post(client, "/bookings/999999/waitlist", world["booker"]) == 404


def test_the_lab_cancels_through_the_api_only_with_a_reason(client, world):
    b = world["booking"].id
    response = client.post(f"/api/v1/bookings/{b}/cancel", json={}, headers=world["manager"])
    assert response.status_code == 422
    assert response.get_json()["error"]["problems"][0]["code"] == "reason_required"
    assert client.post(f"/api/v1/bookings/{b}/cancel", json={"reason": "设备故障"},
                       headers=world["manager"]).get_json()["state"] == "cancelled"
