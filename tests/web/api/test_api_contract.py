"""What an integrator (or a prober) meets at the API's edges: a booking or invoice the caller may
not see is not found (never a 403 or a rule quoting it), text must say something, numbers are
whole, a body is JSON, errors name nested fields by path, lists share one shape."""
from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from booking.bookings.models import Booking
from booking.core.audit import AuditEvent
from booking.extensions import db
from booking.instruments.models import Instrument
from booking.metering.models import UsageSession
from tests.moments import MONDAY_23_NOV_8AM, TUESDAY_24_NOV_10AM


@pytest.fixture(autouse=True)
def frozen():
    with freeze_time(MONDAY_23_NOV_8AM):
        yield


@pytest.fixture
def labs(make):
    """Two institutions, each with a manager and an instrument; a booking on the first's."""
    ours, theirs = make.organisation(), make.organisation()
    instrument = make.instrument(organisation=ours, requires_approval=False)
    booker = make.user()
    return {"instrument": instrument, "booker": booker,
            "booking": make.placed_booking(instrument, booker, TUESDAY_24_NOV_10AM),
            "manager": make.user(role="lab_manager", organisation=ours),
            "stranger": make.user(role="lab_manager", organisation=theirs),
            "their_instrument": make.instrument(organisation=theirs)}


def test_another_labs_booking_is_not_found_through_usage_nor_its_times_told(client, api_token,
                                                                          labs):
    booking = labs["booking"]
    headers = api_token(labs["stranger"])
    start = TUESDAY_24_NOV_10AM - timedelta(days=1)
    response = client.post("/api/v1/usage", headers=headers, json={
        "instrument_id": labs["their_instrument"].id, "booking_id": booking.id,
        "start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()})
    assert response.status_code == 404 and response.get_json()["error"]["message"] == \
        "No such booking."
    assert "10:00" not in response.get_data(as_text=True)
    for action in ("check-in", "check-out"):
        refused = client.post(f"/api/v1/bookings/{booking.id}/{action}", headers=headers)
        assert refused.status_code == 404  # as for an id that does not exist
    assert db.session.scalar(select(UsageSession)) is None


def test_text_of_spaces_is_no_text(client, api_token, labs):
    booker = labs["booker"]
    start = TUESDAY_24_NOV_10AM + timedelta(hours=3)
    response = client.post("/api/v1/bookings", headers=api_token(booker), json={
        "instrument_id": labs["instrument"].id, "start": start.isoformat(),
        "end": (start + timedelta(hours=1)).isoformat(), "purpose": "   "})
    assert response.status_code == 422
    assert response.get_json()["error"]["problems"][0]["field"] == "purpose"
    blackout = client.post(f"/api/v1/instruments/{labs['instrument'].id}/blackouts",
                           headers=api_token(labs["manager"]), json={
                               "start": start.isoformat(),
                               "end": (start + timedelta(hours=1)).isoformat(),
                               "reason": " \t "})
    assert blackout.status_code == 422
    assert db.session.scalar(select(Booking).where(Booking.start_at == start)) is None


def test_a_sample_count_is_a_whole_number_and_a_body_is_json(client, api_token, labs):
    headers = api_token(labs["booker"])
    start = TUESDAY_24_NOV_10AM + timedelta(hours=3)
    body = {"instrument_id": labs["instrument"].id, "start": start.isoformat(),
            "end": (start + timedelta(hours=1)).isoformat(), "purpose": "XRD",
            "mode": "staff_operated", "samples": 2.7}
    response = client.post("/api/v1/bookings", headers=headers, json=body)
    assert response.status_code == 422 and response.get_json()["error"]["problems"][0][
        "field"] == "samples"
    plain = client.post("/api/v1/bookings", headers=headers, data="purpose=XRD",
                        content_type="text/plain")
    assert plain.status_code == 415
    assert plain.get_json()["error"]["code"] == "unsupported_media_type"


def test_nested_mistakes_are_named_by_path(client, api_token, labs):
    start = TUESDAY_24_NOV_10AM + timedelta(hours=3)
    response = client.post("/api/v1/bookings", headers=api_token(labs["booker"]), json={
        "instrument_id": labs["instrument"].id, "start": start.isoformat(),
        "end": (start + timedelta(hours=1)).isoformat(), "purpose": "XRD", "repeat": {}})
    error = response.get_json()["error"]
    assert response.status_code == 422
    assert [p["field"] for p in error["problems"]] == ["repeat.freq"]
    assert "{" not in error["message"]  # no Python dict in the message


def test_a_missing_token_says_which_scheme(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'


def test_the_lab_reads_its_unlisted_instrument_others_do_not(client, api_token, make, labs):
    hidden = make.instrument(organisation=labs["instrument"].organisation, is_public=False)
    url = f"/api/v1/instruments/{hidden.id}"
    assert client.get(url, headers=api_token(labs["manager"])).status_code == 200
    assert client.get(url).status_code == 404
    assert client.get(url, headers=api_token(labs["stranger"])).status_code == 404


def test_only_lab_managers_publish(client, api_token, make):
    response = client.post("/api/v1/instruments", headers=api_token(make.user()),
                           json={"name_zh": "测试仪器"})
    assert response.status_code == 403
    assert db.session.scalar(select(Instrument).where(Instrument.name_zh == "测试仪器")) is None


def test_an_empty_change_is_no_edit(client, api_token, labs):
    instrument = labs["instrument"]
    before = instrument.info_updated_at
    with freeze_time(MONDAY_23_NOV_8AM + timedelta(hours=1)):
        response = client.patch(f"/api/v1/instruments/{instrument.id}",
                                headers=api_token(labs["manager"]), json={})
    assert response.status_code == 200
    db.session.expire_all()
    assert instrument.info_updated_at == before
    assert db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "instrument.updated")) is None


def test_retiring_waits_until_no_booking_is_to_come(client, api_token, labs):
    instrument, headers = labs["instrument"], api_token(labs["manager"])
    url = f"/api/v1/instruments/{instrument.id}"
    refused = client.patch(url, headers=headers, json={"status": "retired"})
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert error["code"] == "bookings_held" and "1 bookings" in error["message"]
    db.session.expire_all()
    assert instrument.status == "active"
    start = labs["booking"].start_at  # a blackout over it cancels it and tells the booker
    client.post(f"{url}/blackouts", headers=headers, json={
        "start": start.isoformat(), "end": labs["booking"].end_at.isoformat(),
        "reason": "设备报废"})
    assert client.patch(url, headers=headers, json={"status": "retired"}).status_code == 200


def test_wait_lists_answer_in_the_list_shape(client, api_token, make):
    body = client.get("/api/v1/waitlist?per_page=5", headers=api_token(make.user())).get_json()
    assert body == {"items": [], "total": 0, "page": 1, "per_page": 5}
