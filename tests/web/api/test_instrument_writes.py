"""Lab managers publish and change instruments through the API; everyone else is refused."""
from datetime import timedelta

import pytest

from booking.core.clock import now_utc
from booking.extensions import db
from booking.instruments.models import Instrument


@pytest.fixture
def lab(make):
    org = make.organisation()
    return org, make.user(role="lab_manager", organisation=org)


def test_manager_creates_an_instrument_with_its_class(client, lab, api_token):
    org, manager = lab
    response = client.post("/api/v1/instruments", headers=api_token(manager), json={
        "name_zh": "液相色谱-质谱联用仪", "national_class": "0102", "asset_number": "ZC-77",
        "original_value_fen": 150_000_000, "purchase_date": "2021-03-05",
        "allows_self_operated": False})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["national_class"], body["category"], body["asset_number"]) == (
        "0102", "analytical", "ZC-77")
    instrument = db.session.get(Instrument, body["id"])
    assert instrument.organisation_id == org.id and not instrument.allows_self_operated


def test_validated_like_the_form(client, lab, api_token):
    _org, manager = lab
    headers = api_token(manager)
    for body, field in [({"name_zh": ""}, "name_zh"), ({}, "name_zh"),
                        ({"name_zh": "x", "national_class": "7777"}, "national_class"),
                        ({"name_zh": "x", "slot_minutes": 0}, "slot_minutes"),
                        ({"name_zh": "x", "timezone": "Mars/Base"}, "timezone"),
                        ({"name_zh": "x", "contact_email": "nope"}, "contact_email"),
                        ({"name_zh": "x", "original_value_fen": -1}, "original_value_fen"),
                        ({"name_zh": "x", "unknown": 1}, "unknown")]:
        response = client.post("/api/v1/instruments", headers=headers, json=body)
        assert response.status_code == 422, body
        assert field in str(response.get_json()), body
    response = client.post("/api/v1/instruments", headers=headers, json={
        "name_zh": "x", "min_minutes": 45, "slot_minutes": 30})
    assert response.status_code == 422
    response = client.post("/api/v1/instruments", headers=headers, json={
        "name_zh": "x", "allows_self_operated": False, "allows_staff_operated": False})
    assert response.status_code == 422


def test_duplicate_asset_number_is_422(client, make, lab, api_token):
    org, manager = lab
    make.instrument(organisation=org, asset_number="ZC-1")
    response = client.post("/api/v1/instruments", headers=api_token(manager),
                           json={"name_zh": "x", "asset_number": "ZC-1"})
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "asset_number_taken"


@pytest.mark.parametrize("role", ["member", "student", "finance", "bureau_staff"])
def test_other_roles_cannot_create_or_patch(client, make, api_token, role):
    instrument = make.instrument()
    user = make.user(role=role, organisation=None if role == "bureau_staff" else
                     instrument.organisation)  # the bureau's staff are the bureau's
    headers = api_token(user)
    assert client.post("/api/v1/instruments", headers=headers,
                       json={"name_zh": "x"}).status_code in (403, 422)
    assert client.patch(f"/api/v1/instruments/{instrument.id}", headers=headers,
                        json={"name_zh": "y"}).status_code == 403
    assert instrument.name_zh != "y"


def test_manager_of_another_organisation_is_refused(client, make, lab, api_token):
    _org, manager = lab
    theirs = make.instrument()
    hidden = make.instrument(is_public=False)
    headers = api_token(manager)
    assert client.patch(f"/api/v1/instruments/{theirs.id}", headers=headers,
                        json={"name_zh": "y"}).status_code == 403
    assert client.patch(f"/api/v1/instruments/{hidden.id}", headers=headers,
                        json={"name_zh": "y"}).status_code == 404
    assert client.post("/api/v1/instruments", headers=headers, json={
        "name_zh": "x", "organisation_id": theirs.organisation_id}).status_code == 403


def test_anonymous_gets_401(client, make):
    instrument = make.instrument()
    assert client.post("/api/v1/instruments", json={"name_zh": "x"}).status_code == 401
    assert client.patch(f"/api/v1/instruments/{instrument.id}",
                        json={"name_zh": "x"}).status_code == 401


def test_patch_rates_hours_and_blackouts(client, make, lab, api_token):
    org, manager = lab
    instrument = make.instrument(organisation=org)
    headers = api_token(manager)
    response = client.patch(f"/api/v1/instruments/{instrument.id}", headers=headers,
                            json={"model": "SU9000", "national_class": "0101",
                                  "lab_en": "Testing Center"})
    assert response.status_code == 200 and instrument.model == "SU9000"
    assert instrument.lab_en == response.get_json()["lab_en"] == "Testing Center"
    assert client.patch(f"/api/v1/instruments/{instrument.id}", headers=headers,
                        json={"lab_en": "x" * 201}).status_code == 422
    body = client.patch(f"/api/v1/instruments/{instrument.id}", headers=headers, json={
        "description_en": "Field-emission SEM.", "capabilities_en": "Imaging\nEDS"}).get_json()
    assert (body["description_en"], body["capabilities_en"]) == ("Field-emission SEM.",
                                                                 ["Imaging", "EDS"])
    assert client.patch(f"/api/v1/instruments/{instrument.id}", headers=headers,
                        json={"description_en": "x" * 5001}).status_code == 422
    assert client.patch(f"/api/v1/instruments/{instrument.id}", headers=headers,
                        json={"min_minutes": 45}).status_code == 422
    later = (now_utc() + timedelta(days=30)).isoformat()
    response = client.post(f"/api/v1/instruments/{instrument.id}/rates", headers=headers,
                           json={"customer_class": "enterprise", "hourly_fen": 99_000,
                                 "valid_from": later})
    assert response.status_code == 201 and response.get_json()["hourly_fen"] == 99_000
    assert client.post(f"/api/v1/instruments/{instrument.id}/rates", headers=headers, json={
        "customer_class": "internal", "hourly_fen": 999_999_999, "valid_from": later}
                       ).status_code == 422  # internal above enterprise
    response = client.put(f"/api/v1/instruments/{instrument.id}/opening-hours", headers=headers,
                          json={"hours": {"0": "08:00-12:00, 13:00-17:00", "2": "09:00-11:00"}})
    assert response.status_code == 200 and len(response.get_json()["opening_hours"]) == 3
    assert client.put(f"/api/v1/instruments/{instrument.id}/opening-hours", headers=headers,
                      json={"hours": {"0": "12:00-08:00"}}).status_code == 422
    booker = make.user()
    start = (now_utc() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    booking = make.placed_booking(instrument, booker, start)
    response = client.post(f"/api/v1/instruments/{instrument.id}/blackouts", headers=headers,
                           json={"start": (start - timedelta(hours=1)).isoformat(),
                                 "end": (start + timedelta(hours=3)).isoformat(),
                                 "reason": "维护"})
    assert response.status_code == 201 and response.get_json()["cancelled_bookings"] == 1
    assert booking.state == "cancelled"
    assert client.post(f"/api/v1/instruments/{instrument.id}/blackouts", headers=headers, json={
        "start": later, "end": later, "reason": "x"}).status_code == 422
    past = client.post(f"/api/v1/instruments/{instrument.id}/blackouts", headers=headers, json={
        "start": (now_utc() - timedelta(days=2)).isoformat(),
        "end": (now_utc() - timedelta(days=1)).isoformat(), "reason": "x"})
    assert past.status_code == 422 and past.get_json()["error"]["code"] == "blackout_over"
