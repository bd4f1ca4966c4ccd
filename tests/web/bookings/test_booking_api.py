"""The booking endpoints of DESIGN.md §5: shapes, status codes, permissions."""
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from booking.bookings.models import Booking
from booking.extensions import db
from tests.moments import MONDAY_23_NOV_8AM, TUESDAY_24_NOV_10AM


@pytest.fixture(autouse=True)
def frozen():
    with freeze_time(MONDAY_23_NOV_8AM) as clock:
        yield clock


@pytest.fixture
def make_lab(make):
    def _instrument(**fields):
        return make.instrument(organisation=make.organisation(), **fields)
    return _instrument


def create(client, headers, instrument, start="2026-11-24T10:00:00+08:00",
           end="2026-11-24T11:00:00+08:00", **extra):
    body = {"instrument_id": instrument.id, "start": start, "end": end,
            "purpose": "Raman mapping", "mode": "self_operated", **extra}
    return client.post("/api/v1/bookings", json=body, headers=headers)


def test_availability(client, lab):
    instrument, _ = lab
    body = client.get(f"/api/v1/instruments/{instrument.id}/availability"
                      "?start=2026-11-24T00:00:00%2B08:00&end=2026-11-25T00:00:00%2B08:00").get_json()
    assert body == {"timezone": "Asia/Shanghai",
                    "free": [{"start": "2026-11-24T00:00:00+00:00",
                              "end": "2026-11-24T10:00:00+00:00"}]}
    naive = client.get(f"/api/v1/instruments/{instrument.id}/availability"
                       "?start=2026-11-24T00:00:00&end=2026-11-25T00:00:00")
    assert naive.status_code == 422 and naive.get_json()["error"]["problems"]
    assert client.get("/api/v1/instruments/999999/availability?start=2026-11-24T00:00:00Z"
                      "&end=2026-11-25T00:00:00Z").status_code == 404


def test_quote_needs_a_token(client, make, api_token, lab):
    instrument, _ = lab
    url = (f"/api/v1/instruments/{instrument.id}/quote"
           "?start=2026-11-24T10:00:00%2B08:00&end=2026-11-24T11:30:00%2B08:00")
    assert client.get(url).status_code == 401
    body = client.get(url, headers=api_token(make.user())).get_json()
    assert body == {"customer_class": "academic", "billable_minutes": 90, "fee_fen": 30_000,
                    "voucher_fen": 0, "payable_fen": 30_000, "samples": 0, "samples_fee_fen": 0}


def test_quote_of_a_staff_operated_booking_adds_the_samples(client, make, api_token, make_lab):
    instrument = make_lab(per_sample_fee_fen=5_000)
    url = (f"/api/v1/instruments/{instrument.id}/quote"
           "?start=2026-11-24T10:00:00%2B08:00&end=2026-11-24T11:00:00%2B08:00")
    headers = api_token(make.user())
    body = client.get(url + "&mode=staff_operated&samples=3", headers=headers).get_json()
    # 1 h at 200 元/h + 3 samples at 50 元
    assert (body["fee_fen"], body["samples"], body["samples_fee_fen"], body["payable_fen"]) == (
        35_000, 3, 15_000, 35_000)
    # self-operated use hands in no samples: they cost nothing
    assert client.get(url + "&samples=3", headers=headers).get_json()["fee_fen"] == 20_000


def test_create_get_list_and_the_booking_shape(client, make, api_token, lab):
    instrument, _ = lab
    user = make.user()
    headers = api_token(user)
    created = create(client, headers, instrument)
    assert created.status_code == 201
    body = created.get_json()
    assert {k: body[k] for k in ("instrument_id", "user_id", "start", "end", "state", "mode",
                                 "purpose", "samples")} == {
        "instrument_id": instrument.id, "user_id": user.id, "start": "2026-11-24T02:00:00+00:00",
        "end": "2026-11-24T03:00:00+00:00", "state": "pending", "mode": "self_operated",
        "purpose": "Raman mapping", "samples": 0}
    assert client.get(f"/api/v1/bookings/{body['id']}", headers=headers).get_json() == body
    listed = client.get("/api/v1/bookings?mine=1", headers=headers).get_json()
    assert (listed["total"], listed["page"], listed["per_page"]) == (1, 1, 50)
    assert [b["id"] for b in listed["items"]] == [body["id"]]


def test_clash_is_409_and_rules_are_422(client, make, api_token, lab):
    instrument, _ = lab
    headers = api_token(make.user())
    assert create(client, headers, instrument).status_code == 201
    clash = create(client, api_token(make.user()), instrument, start="2026-11-24T10:30:00+08:00",
                   end="2026-11-24T11:30:00+08:00")
    assert clash.status_code == 409 and clash.get_json()["error"]["code"] == "booking_clash"
    assert "just booked" in clash.get_json()["error"]["message"]  # the slot was taken seconds ago
    own = create(client, headers, instrument, start="2026-11-24T10:30:00+08:00",
                 end="2026-11-24T11:30:00+08:00")  # the booker's own: not "someone else"
    assert own.status_code == 409 and own.get_json()["error"]["code"] == "own_booking_clash"
    broken = create(client, headers, instrument, start="2026-11-28T10:10:00+08:00",
                    end="2026-11-28T10:20:00+08:00", mode="staff_operated", samples=2)
    error = broken.get_json()["error"]
    assert broken.status_code == 422 and error["code"] == "slot_grid"
    assert [p["code"] for p in error["problems"]] == ["slot_grid", "min_length",
                                                      "outside_opening_hours"]
    assert "slot grid" in error["message"]
    bad = create(client, headers, instrument, mode="teleport", start="yesterday")
    assert bad.status_code == 422 and {p["field"] for p in bad.get_json()["error"]["problems"]} == {
        "mode", "start"}
    assert db.session.scalar(db.select(db.func.count(Booking.id))) == 1


def test_decisions_and_permissions(client, make, api_token, lab):
    instrument, manager = lab
    user_headers = api_token(make.user())
    booking_id = create(client, user_headers, instrument).get_json()["id"]
    stranger = api_token(make.user(role="lab_manager"))
    manager_headers = api_token(manager)
    assert client.get(f"/api/v1/bookings/{booking_id}", headers=stranger).status_code == 404
    assert client.post(f"/api/v1/bookings/{booking_id}/approve",
                       headers=stranger).status_code == 404
    assert client.post(f"/api/v1/bookings/{booking_id}/approve",
                       headers=user_headers).status_code == 403
    no_reason = client.post(f"/api/v1/bookings/{booking_id}/reject", json={},
                            headers=manager_headers)
    assert no_reason.status_code == 422
    assert no_reason.get_json()["error"]["code"] == "reason_required"
    booking = db.session.get(Booking, booking_id)
    db.session.refresh(booking)  # none of the refusals decided it
    assert (booking.state, booking.decided_by_id, booking.decision_reason) == ("pending", None, "")
    managed = client.get("/api/v1/bookings?mine=0&state=pending", headers=manager_headers)
    assert [b["id"] for b in managed.get_json()["items"]] == [booking_id]
    approved = client.post(f"/api/v1/bookings/{booking_id}/approve", headers=manager_headers)
    assert approved.status_code == 200 and approved.get_json()["state"] == "approved"
    again = client.post(f"/api/v1/bookings/{booking_id}/approve", headers=manager_headers)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "illegal_transition"
    cancelled = client.post(f"/api/v1/bookings/{booking_id}/cancel", json={},
                            headers=user_headers)
    assert cancelled.get_json()["state"] == "cancelled"
    assert cancelled.get_json()["late_cancel"] is False  # 26 h ahead, deadline 24 h


def test_reject(client, make, api_token, lab):
    instrument, manager = lab
    booking_id = create(client, api_token(make.user()), instrument).get_json()["id"]
    response = client.post(f"/api/v1/bookings/{booking_id}/reject",
                           json={"reason": "Instrument down"}, headers=api_token(manager))
    assert response.get_json()["state"] == "rejected"
    assert response.get_json()["decision_reason"] == "Instrument down"


def test_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/bookings", "/api/v1/bookings/{booking_id}",
                 "/api/v1/bookings/{booking_id}/approve", "/api/v1/bookings/{booking_id}/reject",
                 "/api/v1/bookings/{booking_id}/cancel",
                 "/api/v1/instruments/{instrument_id}/availability",
                 "/api/v1/instruments/{instrument_id}/quote"):
        assert path in paths


def test_staff_operated_booking_states_its_samples(client, make, api_token, lab):
    instrument, _ = lab
    headers = api_token(make.user())
    created = create(client, headers, instrument, mode="staff_operated", samples=4)
    assert created.status_code == 201 and created.get_json()["samples"] == 4
    assert db.session.get(Booking, created.get_json()["id"]).sample_count == 4


@pytest.mark.parametrize(("mode", "samples", "code"), [
    ("staff_operated", 0, "samples_required"), ("staff_operated", -1, "samples_required"),
    ("staff_operated", 1001, "too_many_samples"), ("self_operated", 2, "samples_self_operated")])
def test_samples_out_of_the_rule_are_refused(client, make, api_token, lab, mode, samples, code):
    instrument, _ = lab
    extra = {"samples": samples} if samples else {}  # 0: the default, left out
    refused = create(client, api_token(make.user()), instrument, mode=mode, **extra)
    error = refused.get_json()["error"]
    assert refused.status_code == 422 and error["code"] == code
    assert [p["code"] for p in error["problems"]] == [code]
    assert "sample" in error["message"]
    assert db.session.scalar(db.select(db.func.count(Booking.id))) == 0


def test_create_reads_blackouts_and_exceptions_in_the_instruments_timezone(client, make,
                                                                            api_token, make_lab):
    """The instrument and its opening calendar come from one statement over a window widened
    by the largest UTC offset: a blackout just outside the slot does not refuse it, one inside
    does, and an exception applies on the instrument's local day (Berlin, UTC+1)."""

    from booking.instruments.models import Blackout, OpeningException

    instrument = make_lab(timezone="Europe/Berlin", hours="always")
    headers = api_token(make.user())
    db.session.add_all([
        Blackout(instrument_id=instrument.id, start_at=datetime(2026, 11, 24, 10, tzinfo=UTC),
                 end_at=datetime(2026, 11, 24, 11, tzinfo=UTC), reason="calibration"),
        OpeningException(instrument_id=instrument.id, day=datetime(2026, 11, 26).date(),
                         opens=None, closes=None)])  # Thursday closed in Berlin
    db.session.commit()
    before = create(client, headers, instrument, start="2026-11-24T10:00:00+01:00",
                    end="2026-11-24T11:00:00+01:00")  # 09:00-10:00 UTC, touching the blackout
    assert before.status_code == 201, before.get_json()
    inside = create(client, headers, instrument, start="2026-11-24T11:30:00+01:00",
                    end="2026-11-24T12:30:00+01:00")
    assert inside.get_json()["error"]["code"] == "blackout"
    # 23:30 UTC on Wednesday is 00:30 on the closed Thursday in Berlin
    closed = create(client, headers, instrument, start="2026-11-25T23:30:00Z",
                    end="2026-11-26T00:30:00Z")
    assert closed.status_code == 422
    assert closed.get_json()["error"]["code"] == "outside_opening_hours"
    assert create(client, headers, instrument, start="2026-11-25T21:00:00Z",
                  end="2026-11-25T22:00:00Z").status_code == 201  # Wednesday 22:00 in Berlin


def test_create_on_an_unknown_or_hidden_instrument_is_404(client, make, api_token, make_lab):
    headers = api_token(make.user())
    hidden = make_lab(is_public=False)
    for instrument_id in (999999, hidden.id):
        response = client.post("/api/v1/bookings", headers=headers, json={
            "instrument_id": instrument_id, "start": "2026-11-24T10:00:00+08:00",
            "end": "2026-11-24T11:00:00+08:00", "purpose": "x", "mode": "self_operated"})
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"
    assert db.session.scalar(db.select(db.func.count(Booking.id))) == 0


def test_quote_refuses_a_mode_the_instrument_does_not_offer(client, make, api_token, make_lab):
    """A self-operated slot on a 送样-only instrument is not priced: the booking would be
    refused (mode_not_offered), so the quote is too."""
    instrument = make_lab(allows_self_operated=False)
    url = (f"/api/v1/instruments/{instrument.id}/quote"
           "?start=2026-11-24T10:00:00%2B08:00&end=2026-11-24T11:00:00%2B08:00")
    headers = api_token(make.user())
    refused = client.get(url, headers=headers)
    assert refused.status_code == 422
    assert refused.get_json()["error"]["code"] == "mode_not_offered"
    priced = client.get(url + "&mode=staff_operated&samples=1", headers=headers)
    assert priced.status_code == 200 and priced.get_json()["fee_fen"] > 0


def test_a_clash_with_an_older_booking_says_what_holds_the_slot(client, make, api_token, lab):
    """Held for three days by a request still waiting for approval: the answer says so (and
    since when), never who holds it."""
    instrument, _ = lab
    holder = make.user(name="赵某某")
    make.placed_booking(instrument, holder, TUESDAY_24_NOV_10AM, state="pending",
                        created_at=MONDAY_23_NOV_8AM - timedelta(days=3))
    clash = create(client, api_token(make.user()), instrument)
    error = clash.get_json()["error"]
    assert clash.status_code == 409 and error["code"] == "booking_clash"
    assert error["message"] == ("This time is already held by a booking (pending approval) "
                                "from 2026-11-24 10:00 to 2026-11-24 11:00. Pick another free "
                                "slot.")
    assert holder.name not in str(clash.get_json())
