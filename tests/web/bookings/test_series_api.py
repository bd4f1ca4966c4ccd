"""Recurring series in the API: POST /bookings with `repeat` answers 201 with the created and
the refused occurrences, 422 on a wrong rule, 409 when every slot is taken; /series/{id}
decides and cancels it as one, for the lab and the booker only."""
from datetime import timedelta

import pytest
from freezegun import freeze_time

from booking.bookings.models import BookingSeries
from booking.extensions import db
from tests.moments import MONDAY_23_NOV_8AM, TUESDAY_24_NOV_10AM


@pytest.fixture(autouse=True)
def frozen():
    with freeze_time(MONDAY_23_NOV_8AM) as clock:
        yield clock


def create(client, headers, instrument, repeat, start="2026-11-24T10:00:00+08:00",
           end="2026-11-24T12:00:00+08:00"):
    return client.post("/api/v1/bookings", headers=headers, json={
        "instrument_id": instrument.id, "start": start, "end": end, "purpose": "Group slot",
        "repeat": repeat})


def test_a_series_answers_201_with_created_and_refused(client, make, api_token, lab, frozen):
    instrument, _ = lab
    make.booking(instrument, make.user(), TUESDAY_24_NOV_10AM + timedelta(days=2))  # Thu 26
    frozen.tick(timedelta(hours=1))
    student = make.user()
    answer = create(client, api_token(student), instrument,
                    {"freq": "weekly", "byweekday": ["TU", "TH"], "count": 4})
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    series = body["series"]
    assert (body["id"], body["state"], body["series_id"]) == (
        series["created"][0]["id"], "pending", series["id"])
    assert {k: series[k] for k in ("freq", "interval", "byweekday", "count", "until")} == {
        "freq": "weekly", "interval": 1, "byweekday": ["TU", "TH"], "count": 4, "until": None}
    assert [b["start"] for b in series["created"]] == [
        "2026-11-24T02:00:00+00:00", "2026-12-01T02:00:00+00:00", "2026-12-03T02:00:00+00:00"]
    [refused] = series["refused"]
    assert refused["start"] == "2026-11-26T02:00:00+00:00"
    assert [p["code"] for p in refused["problems"]] == ["booking_clash"]
    assert "pending approval" in refused["problems"][0]["message"]


def test_a_series_until_a_date(client, make, api_token, lab):
    instrument, _ = lab
    answer = create(client, api_token(make.user()), instrument,
                    {"freq": "daily", "interval": 2, "until": "2026-11-28"})
    assert answer.status_code == 201
    assert [b["start"][:10] for b in answer.get_json()["series"]["created"]] == [
        "2026-11-24", "2026-11-26"]  # Sat 28 Nov: closed
    assert [p["code"] for p in answer.get_json()["series"]["refused"][0]["problems"]] == [
        "outside_opening_hours"]


@pytest.mark.parametrize("repeat", [
    {"freq": "yearly", "count": 2}, {"freq": "weekly", "interval": 0, "count": 2},
    {"freq": "weekly", "count": 121}, {"freq": "weekly"},
    {"freq": "weekly", "count": 2, "until": "2026-12-31"},
    {"freq": "daily", "byweekday": ["TU"], "count": 2},
    {"freq": "weekly", "byweekday": ["XX"], "count": 2},
    {"freq": "weekly", "until": "9999-12-31"}, {"freq": "weekly", "until": "2028-01-01"},
    {"freq": "weekly", "count": 2, "extra": 1}, "weekly",
])
def test_a_wrong_repeat_is_422_before_any_work(client, make, api_token, lab, repeat):
    instrument, _ = lab
    answer = create(client, api_token(make.user()), instrument, repeat)
    assert answer.status_code == 422, answer.get_json()
    assert answer.get_json()["error"]["code"] == "validation_error"
    assert db.session.scalar(db.select(db.func.count()).select_from(BookingSeries)) == 0


@pytest.mark.parametrize(("repeat", "code"), [
    ({"freq": "weekly", "byweekday": ["MO"], "count": 2}, "repeat_first_weekday"),
    ({"freq": "weekly", "count": 60}, "repeat_too_long"),
    ({"freq": "daily", "until": "2027-06-01"}, "repeat_too_many"),
])
def test_a_rule_the_domain_refuses_is_422_with_its_code(client, make, api_token, lab, repeat,
                                                       code):
    instrument, _ = lab
    answer = create(client, api_token(make.user()), instrument, repeat)
    assert answer.status_code == 422 and answer.get_json()["error"]["code"] == code


def test_every_slot_taken_is_409_and_nothing_is_written(client, make, api_token, lab, frozen):
    instrument, _ = lab
    holder = make.user()
    for week in range(2):
        make.booking(instrument, holder, TUESDAY_24_NOV_10AM + timedelta(weeks=week))
    frozen.tick(timedelta(hours=1))
    answer = create(client, api_token(make.user()), instrument, {"freq": "weekly", "count": 2})
    assert answer.status_code == 409
    assert answer.get_json()["error"]["code"] == "booking_clash"
    assert db.session.scalar(db.select(db.func.count()).select_from(BookingSeries)) == 0


def test_the_lab_decides_and_the_booker_cancels_a_series(client, make, api_token, lab):
    instrument, manager = lab
    student = make.user()
    as_student, as_manager = api_token(student), api_token(manager)
    series = create(client, as_student, instrument,
                    {"freq": "weekly", "count": 3}).get_json()["series"]
    url = f"/api/v1/series/{series['id']}"
    shown = client.get(url, headers=as_student).get_json()
    assert [b["state"] for b in shown["bookings"]] == ["pending"] * 3
    assert client.post(f"{url}/approve", headers=as_student).status_code == 403
    approved = client.post(f"{url}/approve", headers=as_manager)
    assert [b["state"] for b in approved.get_json()["bookings"]] == ["approved"] * 3
    again = client.post(f"{url}/approve", headers=as_manager)
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "series_nothing_pending"
    assert client.post(f"{url}/cancel", headers=as_manager, json={}).status_code == 403
    second = shown["bookings"][1]["id"]
    cancelled = client.post(f"{url}/cancel", headers=as_student,
                            json={"from_booking_id": second})
    assert [b["state"] for b in cancelled.get_json()["bookings"]] == [
        "approved", "cancelled", "cancelled"]
    all_of_it = client.post(f"{url}/cancel", headers=as_student, json={"reason": "done"})
    assert [b["state"] for b in all_of_it.get_json()["bookings"]] == ["cancelled"] * 3
    assert client.post(f"{url}/cancel", headers=as_student, json={}).status_code == 409


def test_reject_a_series_needs_a_reason(client, make, api_token, lab):
    instrument, manager = lab
    series = create(client, api_token(make.user()), instrument,
                    {"freq": "weekly", "count": 2}).get_json()["series"]
    url = f"/api/v1/series/{series['id']}/reject"
    as_manager = api_token(manager)
    assert client.post(url, headers=as_manager, json={}).status_code == 422
    rejected = client.post(url, headers=as_manager, json={"reason": "Closed in December"})
    assert {b["state"] for b in rejected.get_json()["bookings"]} == {"rejected"}


def test_nobody_sees_decides_or_cancels_someone_elses_series(client, make, api_token, lab):
    instrument, _ = lab
    series = create(client, api_token(make.user()), instrument,
                    {"freq": "weekly", "count": 2}).get_json()["series"]
    url = f"/api/v1/series/{series['id']}"
    for who in (make.user(), make.user(role="lab_manager")):
        headers = api_token(who)
        assert client.get(url, headers=headers).status_code == 404
        for action in ("approve", "reject", "cancel"):
            assert client.post(f"{url}/{action}", headers=headers,
                               json={"reason": "x"} if action != "approve" else None
                               ).status_code == 404
    assert client.get(url).status_code == 401


def test_from_booking_id_must_be_an_occurrence_of_the_series(client, make, api_token, lab):
    instrument, _ = lab
    student = make.user()
    headers = api_token(student)
    series = create(client, headers, instrument,
                    {"freq": "weekly", "count": 2}).get_json()["series"]
    single = make.booking(instrument, student, TUESDAY_24_NOV_10AM + timedelta(hours=3))
    answer = client.post(f"/api/v1/series/{series['id']}/cancel", headers=headers,
                         json={"from_booking_id": single.id})
    assert answer.status_code == 422 and answer.get_json()["error"]["code"] == "not_in_series"
