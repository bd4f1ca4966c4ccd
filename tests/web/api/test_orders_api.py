"""The orders API: every transition, and every refusal (validation 422, permission 401/403/404,
state 409), through /api/v1 with bearer tokens."""
import io
from datetime import timedelta

import pytest
from freezegun import freeze_time

from tests.moments import MONDAY_7_DEC_9AM

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def frozen():
    with freeze_time(MONDAY_7_DEC_9AM) as clock:
        yield clock


@pytest.fixture
def world(make, api_token):
    lab = make.testing_lab()
    sme = make.voucher(amount_fen=5_000_000).applicant
    other_lab = make.testing_lab()
    return {"lab": lab, "sme": sme, "manager": api_token(lab.manager),
            "customer": api_token(sme), "stranger": api_token(make.user()),
            "other_manager": api_token(other_lab.manager)}


def _body(world, **changes):
    body = {"instrument_id": world["lab"].instrument.id,
            "samples": [{"name": f"S{n}", "count": 1, "state": "powder"} for n in (1, 2, 3)],
            "tests": ["形貌观察 SEM imaging"], "leftovers": "return", "terms_signed": True}
    return {**body, **changes}


def _submit(client, world, **changes):
    response = client.post("/api/v1/orders", json=_body(world, **changes),
                           headers=world["customer"])
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _post(client, world, order_id, action, who="manager", **kwargs):
    return client.post(f"/api/v1/orders/{order_id}/{action}", headers=world[who], **kwargs)


def test_every_transition_through_the_api(frozen, client, world):
    quote = client.post("/api/v1/orders/quote", headers=world["customer"], json={
        "instrument_id": world["lab"].instrument.id, "samples": 3, "tests": 1}).get_json()
    assert quote["fee_fen"] == 3 * 5_000 + 2_000 and quote["voucher_fen"] > 0
    order = _submit(client, world)
    assert order["state"] == "submitted" and order["fee_fen"] == quote["fee_fen"]
    oid = order["id"]
    assert _post(client, world, oid, "accept").get_json()["state"] == "accepted"
    received = _post(client, world, oid, "receive", json={
        "condition": "sealed", "samples": {str(order["samples"][0]["id"]): "cracked lid"}})
    body = received.get_json()
    assert body["state"] == "received" and body["samples"][0]["condition"] == "cracked lid"
    assert all(s["code"] for s in body["samples"])
    start = MONDAY_7_DEC_9AM + timedelta(minutes=30)
    scheduled = _post(client, world, oid, "schedule", json={
        "start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()})
    assert scheduled.status_code == 200 and len(scheduled.get_json()["booking_ids"]) == 1
    frozen.move_to(start)
    assert _post(client, world, oid, "start-testing").get_json()["state"] == "testing"
    reported = _post(client, world, oid, "report", data={
        "report": (io.BytesIO(PDF), "report.pdf"), "data": (io.BytesIO(b"x,y\n1,2\n"), "d.csv")},
        content_type="multipart/form-data")
    body = reported.get_json()
    assert reported.status_code == 200 and body["state"] == "report_ready"
    assert body["report_number"] and body["invoice_id"]
    verified = client.get("/api/v1/reports/verify", query_string={"number": body["report_number"]})
    assert verified.status_code == 200
    assert set(verified.get_json()) == {"report_number", "issued_on", "lab", "organisation"}
    closed = _post(client, world, oid, "close", json={"outcome": "return"}).get_json()
    assert closed["state"] == "closed" and closed["outcome"] == "return"
    assert [e["state"] for e in closed["events"]] == [
        "submitted", "accepted", "received", "testing", "report_ready", "closed"]
    listed = client.get("/api/v1/orders", headers=world["customer"]).get_json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == oid
    lab_list = client.get("/api/v1/orders?mine=0", headers=world["manager"]).get_json()
    assert lab_list["total"] == 1


def test_decline_and_cancel(frozen, client, world):
    first = _submit(client, world)["id"]
    declined = _post(client, world, first, "decline", json={"reason": "radioactive"})
    assert declined.get_json()["state"] == "declined"
    assert declined.get_json()["decline_reason"] == "radioactive"
    second = _submit(client, world)["id"]
    assert _post(client, world, second, "cancel", who="customer").get_json()["state"] == \
        "cancelled"


@pytest.mark.parametrize("changes, code", [
    ({"terms_signed": False}, "terms_unsigned"),
    ({"samples": [{"name": "Cl2", "state": "liquid", "hazards": ["toxic"]}]},
     "hazard_declaration"),
    ({"samples": [{"name": "A", "state": "solid", "count": 100}] * 11}, "too_many_samples"),
    ({"desired_date": "2026-12-01"}, "desired_date_past"),
])
def test_submission_refusals(frozen, client, world, changes, code):
    response = client.post("/api/v1/orders", json=_body(world, **changes),
                           headers=world["customer"])
    assert response.status_code == 422
    assert code in {p["code"] for p in response.get_json()["error"]["problems"]}


@pytest.mark.parametrize("changes", [
    {"samples": []}, {"tests": []}, {"leftovers": "keep"},
    {"samples": [{"name": "A", "state": "gas"}]}, {"samples": [{"name": "A", "state": "solid",
                                                                "hazards": ["cursed"]}]},
    {"terms_signed": None}, {"instrument_id": -1}])
def test_malformed_submissions_are_422(frozen, client, world, changes):
    response = client.post("/api/v1/orders", json=_body(world, **changes),
                           headers=world["customer"])
    assert response.status_code == 422


def test_an_instrument_without_testing_and_an_unknown_one(frozen, client, world, make):
    world["lab"].instrument.allows_staff_operated = False
    from booking.extensions import db

    db.session.commit()
    response = client.post("/api/v1/orders", json=_body(world), headers=world["customer"])
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "testing_not_offered"
    response = client.post("/api/v1/orders", json=_body(world, instrument_id=10**6),
                           headers=world["customer"])
    assert response.status_code == 404


def test_permission_refusals(frozen, client, world):
    oid = _submit(client, world)["id"]
    assert client.post(f"/api/v1/orders/{oid}/accept").status_code == 401
    assert _post(client, world, oid, "accept", who="stranger").status_code == 404
    assert _post(client, world, oid, "accept", who="other_manager").status_code == 404
    assert _post(client, world, oid, "accept", who="customer").status_code == 403
    assert client.get(f"/api/v1/orders/{oid}", headers=world["stranger"]).status_code == 404
    assert _post(client, world, oid, "cancel", who="manager").status_code == 403
    assert client.get("/api/v1/orders/999999", headers=world["customer"]).status_code == 404


@pytest.mark.parametrize("action", ["decline", "receive", "schedule", "close", "report"])
def test_who_may_act_is_answered_before_the_body_is_read(frozen, client, world, action):
    oid = _submit(client, world)["id"]
    for who, status in (("customer", 403), ("stranger", 404), ("other_manager", 404)):
        assert _post(client, world, oid, action, who=who, json={"x": 1}).status_code == status
    assert _post(client, world, oid, action, json={"x": 1}).status_code == 422  # the lab's


def test_state_refusals_are_409(frozen, client, world):
    oid = _submit(client, world)["id"]
    for action, kwargs in (("receive", {"json": {"condition": "ok"}}),
                           ("start-testing", {}), ("close", {"json": {"outcome": "return"}}),
                           ("report", {"data": {"report": (io.BytesIO(PDF), "r.pdf")},
                                       "content_type": "multipart/form-data"})):
        response = _post(client, world, oid, action, **kwargs)
        assert response.status_code == 409, action
        assert response.get_json()["error"]["code"] == "illegal_transition"
    start = MONDAY_7_DEC_9AM + timedelta(hours=1)
    response = _post(client, world, oid, "schedule", json={
        "start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()})
    assert response.status_code == 409  # not accepted yet
    assert response.get_json()["error"]["code"] == "not_schedulable"
    _post(client, world, oid, "accept")
    assert _post(client, world, oid, "accept").status_code == 409
    _post(client, world, oid, "receive", json={"condition": "ok"})
    response = _post(client, world, oid, "start-testing")  # nothing scheduled
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "no_booking_due"
    assert _post(client, world, oid, "cancel", who="customer").status_code == 409


def test_action_refusals_are_422(frozen, client, world):
    oid = _submit(client, world)["id"]
    assert _post(client, world, oid, "decline", json={"reason": ""}).status_code == 422
    assert _post(client, world, oid, "decline", json={}).status_code == 422
    _post(client, world, oid, "accept")
    assert _post(client, world, oid, "receive", json={"condition": ""}).status_code == 422
    start = MONDAY_7_DEC_9AM - timedelta(hours=2)  # in the past: a booking rule
    response = _post(client, world, oid, "schedule", json={
        "start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()})
    assert response.status_code == 422
    response = _post(client, world, oid, "schedule", json={
        "start": start.isoformat(), "end": start.isoformat()})
    assert response.status_code == 422
    later = MONDAY_7_DEC_9AM + timedelta(hours=3)  # check-in opens an hour before
    assert _post(client, world, oid, "schedule", json={
        "start": later.isoformat(), "end": (later + timedelta(hours=1)).isoformat()}
    ).status_code == 200
    _post(client, world, oid, "receive", json={"condition": "ok"})
    response = _post(client, world, oid, "start-testing")
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "too_early"


def test_report_files_are_checked(frozen, client, world):
    oid = _submit(client, world)["id"]
    _post(client, world, oid, "accept")
    _post(client, world, oid, "receive", json={"condition": "ok"})
    start = MONDAY_7_DEC_9AM + timedelta(minutes=30)
    _post(client, world, oid, "schedule", json={
        "start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()})
    frozen.move_to(start)
    _post(client, world, oid, "start-testing")
    for files_, code in (({"report": (io.BytesIO(b"not a pdf"), "r.pdf")}, "file_content"),
                         ({"report": (io.BytesIO(PDF), "r.exe")}, "file_type"),
                         ({"report": (io.BytesIO(PDF), "r.pdf"),
                           "data": (io.BytesIO(b"\x00\x01"), "d.csv")}, "file_content")):
        response = _post(client, world, oid, "report", data=files_,
                         content_type="multipart/form-data")
        assert response.status_code == 422
        assert response.get_json()["error"]["code"] == code
    assert _post(client, world, oid, "report", data={},
                 content_type="multipart/form-data").status_code == 422


def test_verification_of_an_unknown_number(client):
    assert client.get("/api/v1/reports/verify?number=NOPE").status_code == 404
    assert client.get("/api/v1/reports/verify").status_code == 422


def test_conditions_for_samples_not_of_the_order_are_refused(frozen, client, world):
    """Reported: conditions keyed on another order's sample ids were silently dropped."""
    order = _submit(client, world)
    _post(client, world, order["id"], "accept")
    response = _post(client, world, order["id"], "receive", json={
        "condition": "sealed", "samples": {"999999": "x"}})
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "unknown_sample"
    assert client.get(f"/api/v1/orders/{order['id']}",
                      headers=world["manager"]).get_json()["state"] == "accepted"
