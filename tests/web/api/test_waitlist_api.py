"""The wait-list API: join by time or by the booking that holds it, list, take the offer,
leave; refusals and other people's entries."""
import pytest
from freezegun import freeze_time

from booking.bookings.requests import cancel_booking
from booking.core.notifications import commit
from tests.moments import MONDAY_23_NOV_8AM, TUESDAY_24_NOV_10AM

TIME = {"start": "2026-11-24T10:00:00+08:00", "end": "2026-11-24T11:00:00+08:00"}


@pytest.fixture(autouse=True)
def frozen():
    with freeze_time(MONDAY_23_NOV_8AM):
        yield


@pytest.fixture
def taken(make):
    instrument = make.instrument(requires_approval=False)
    holder = make.user()
    return instrument, holder, make.placed_booking(instrument, holder, TUESDAY_24_NOV_10AM)


def test_join_by_time_then_take_the_offer(client, make, api_token, taken):
    instrument, holder, booking = taken
    headers = api_token(make.user())
    joined = client.post(f"/api/v1/instruments/{instrument.id}/waitlist",
                         json={**TIME, "purpose": "XRD"}, headers=headers)
    assert joined.status_code == 201 and joined.get_json()["state"] == "waiting"
    entry_id = joined.get_json()["id"]
    assert client.post(f"/api/v1/waitlist/{entry_id}/accept",
                       headers=headers).get_json()["error"]["code"] == "offer_gone"
    cancel_booking(booking, holder)
    commit()
    [entry] = client.get("/api/v1/waitlist", headers=headers).get_json()["items"]
    assert entry["state"] == "offered" and entry["offer_expires_at"]
    taken_up = client.post(f"/api/v1/waitlist/{entry_id}/accept", headers=headers)
    assert taken_up.status_code == 201 and taken_up.get_json()["state"] == "approved"


def test_join_by_the_booking_that_holds_the_time_and_leave(client, make, api_token, taken):
    _instrument, _holder, booking = taken
    headers = api_token(make.user())
    joined = client.post(f"/api/v1/bookings/{booking.id}/waitlist", json={}, headers=headers)
    assert joined.status_code == 201
    assert joined.get_json()["start"] == "2026-11-24T02:00:00+00:00"
    entry_id = joined.get_json()["id"]
    again = client.post(f"/api/v1/bookings/{booking.id}/waitlist", json={}, headers=headers)
    assert again.status_code == 422 and again.get_json()["error"]["code"] == "already_waiting"
    assert client.delete(f"/api/v1/waitlist/{entry_id}", headers=headers).status_code == 204
    assert client.get("/api/v1/waitlist", headers=headers).get_json()["items"] == []


def test_refusals_and_other_peoples_entries(client, make, api_token, taken):
    instrument, holder, _booking = taken
    headers = api_token(make.user())
    free = client.post(f"/api/v1/instruments/{instrument.id}/waitlist",
                       json={"start": "2026-11-24T15:00:00+08:00",
                             "end": "2026-11-24T16:00:00+08:00"}, headers=headers)
    assert free.status_code == 422 and free.get_json()["error"]["code"] == "slot_free"
    own = client.post(f"/api/v1/instruments/{instrument.id}/waitlist", json=TIME,
                      headers=api_token(holder))
    assert own.get_json()["error"]["code"] == "own_booking"
    entry_id = client.post(f"/api/v1/instruments/{instrument.id}/waitlist", json=TIME,
                           headers=headers).get_json()["id"]
    stranger = api_token(make.user())
    assert client.delete(f"/api/v1/waitlist/{entry_id}", headers=stranger).status_code == 404
    assert client.post(f"/api/v1/waitlist/{entry_id}/accept",
                       headers=stranger).status_code == 404
    assert client.post("/api/v1/bookings/999999/waitlist", json={},
                       headers=headers).status_code == 404
    assert client.post(f"/api/v1/instruments/{instrument.id}/waitlist",
                       json=TIME).status_code == 401
