"""Recurring series in the pages: the booking form's preview, "book the free ones", the lab
deciding a series as one, the booker cancelling the rest; and who may do none of it."""
import re
from datetime import timedelta

import pytest
from freezegun import freeze_time

from booking.bookings import series
from booking.bookings.models import Booking, BookingSeries
from booking.bookings.recurrence import Repeat
from booking.extensions import db
from tests.moments import MONDAY_23_NOV_8AM, TUESDAY_24_NOV_10AM
from tests.web.matrix import audit_actions

WEEKLY_4 = {"repeat-freq": "weekly", "repeat-interval": "1", "repeat-byweekday": ["TU"],
            "repeat-ends": "count", "repeat-count": "4"}
SLOT = {"start": "2026-11-24T10:00", "end": "2026-11-24T12:00", "mode": "self_operated"}


@pytest.fixture(autouse=True)
def frozen():
    with freeze_time(MONDAY_23_NOV_8AM) as clock:
        yield clock


@pytest.fixture
def lab(make):
    owner = make.organisation()
    manager = make.user(role="lab_manager", organisation=owner, locale="en")
    instrument = make.instrument(organisation=owner, requires_approval=True)
    student = make.user(role="student", organisation=owner, locale="en")
    return instrument, manager, student


@pytest.fixture
def clash_on_8_dec(make, lab, frozen):
    """Someone else holds 8 Dec 11:00-12:00 (the third Tuesday), booked an hour ago."""
    instrument, _, _ = lab
    make.booking(instrument, make.user(organisation=instrument.organisation),
                 TUESDAY_24_NOV_10AM + timedelta(weeks=2, hours=1))
    frozen.tick(timedelta(hours=1))


def bookings_of(user) -> list[Booking]:
    return list(db.session.scalars(db.select(Booking).where(Booking.user_id == user.id)
                                   .order_by(Booking.start_at)))


def a_series(lab, repeat=Repeat("weekly", count=4)):
    instrument, _, student = lab
    result = series.create_series(instrument, student, start=TUESDAY_24_NOV_10AM,
                                  end=TUESDAY_24_NOV_10AM + timedelta(hours=2),
                                  mode="self_operated", purpose="Group slot", samples=0,
                                  repeat=repeat)
    db.session.commit()
    return result.series


def test_the_booking_form_offers_to_repeat(client, login, lab):
    instrument, _, student = lab
    login(student)
    page = client.get(f"/instruments/{instrument.id}/book").get_data(as_text=True)
    assert 'id="repeat-freq"' in page and 'value="TH"' in page and "booking-series.js" in page
    assert f'formaction="/instruments/{instrument.id}/book/series"' in page


def test_the_preview_shows_every_occurrence_with_its_price_and_the_clash(
        client, login, lab, clash_on_8_dec):
    instrument, _, student = lab
    login(student)
    body = client.get(f"/instruments/{instrument.id}/series.json",
                      query_string={**SLOT, **WEEKLY_4}).get_json()
    assert (body["total"], body["free"], body["payable_fen"]) == (4, 3, 60_000)
    rows = body["occurrences"]
    assert [(r["day"], r["time"]) for r in rows] == [
        (day, "10:00–12:00") for day in ("2026-11-24", "2026-12-01", "2026-12-08",
                                         "2026-12-15")]
    assert [r["payable_fen"] for r in rows] == [20_000] * 4  # internal: 100 元/h, 2 h each
    assert [[p["code"] for p in r["problems"]] for r in rows] == [
        [], [], ["booking_clash"], []]
    assert "pending approval" in rows[2]["problems"][0]["message"]
    assert bookings_of(student) == []  # nothing booked yet


def test_the_preview_names_a_wrong_rule_and_refuses_a_wrong_field(client, login, lab):
    instrument, _, student = lab
    login(student)
    url = f"/instruments/{instrument.id}/series.json"
    too_long = client.get(url, query_string={**SLOT, **WEEKLY_4, "repeat-count": "60"})
    assert too_long.status_code == 200  # the field allows 60; the rule (a year) does not
    assert [p["code"] for p in too_long.get_json()["problems"]] == ["repeat_too_long"]
    for bad in ({"repeat-count": "500"}, {"repeat-interval": "0"}, {"repeat-freq": "yearly"},
                {"repeat-byweekday": ["XX"]}, {"repeat-freq": ""},
                {"repeat-ends": "until", "repeat-until": "9999-01-01"}):
        answer = client.get(url, query_string={**SLOT, **WEEKLY_4, **bad})
        assert answer.status_code == 400 and answer.get_json()["error"], bad
    assert client.get(url, query_string=WEEKLY_4).status_code == 400  # no slot


def test_book_the_free_ones(client, login, lab, clash_on_8_dec):
    instrument, manager, student = lab
    login(student)
    answer = client.post(f"/instruments/{instrument.id}/book/series",
                         data={**SLOT, **WEEKLY_4, "purpose": "Group slot"})
    assert answer.status_code == 302 and answer.location.endswith("/bookings/mine")
    made = bookings_of(student)
    assert [(b.start_at.day, b.state) for b in made] == [
        (24, "pending"), (1, "pending"), (15, "pending")]
    assert len({b.series_id for b in made}) == 1
    page = client.get("/bookings/mine").get_data(as_text=True)
    assert "3 bookings requested" in page and "Not booked: 2026-12-08 10:00" in page


def test_nothing_is_booked_when_nothing_is_free(client, login, lab):
    instrument, _, student = lab
    login(student)
    sunday = {**SLOT, "start": "2026-11-29T10:00", "end": "2026-11-29T12:00"}
    answer = client.post(f"/instruments/{instrument.id}/book/series",
                         data={**sunday, **WEEKLY_4, "repeat-byweekday": ["SU"],
                               "purpose": "x"})
    assert answer.status_code == 422  # the booking page again, as it was filled in
    assert db.session.scalar(db.select(db.func.count()).select_from(BookingSeries)) == 0
    page = answer.get_data(as_text=True)
    assert "Nothing was booked" in page and "not open" in page
    assert 'value="2026-11-29T10:00"' in page and re.search(r'id="purpose"[^>]*>\s*x<', page)
    assert re.search(r'<option selected value="weekly">', page)
    assert re.search(r'value="SU" id="repeat-byweekday-SU" checked>', page)


def test_the_lab_approves_or_rejects_a_series_from_the_queue(client, login, lab):
    instrument, manager, _ = lab
    first = a_series(lab)
    login(manager)
    queue = client.get("/bookings/queue").get_data(as_text=True)
    assert f'id="series-{first.id}"' in queue and "weekly, 4 times" in queue
    assert client.post(f"/series/{first.id}/reject", data={"reason": ""}).status_code == 302
    assert {b.state for b in first.bookings} == {"pending"}  # a reason is needed
    client.post(f"/series/{first.id}/approve")
    assert {b.state for b in first.bookings} == {"approved"}
    assert audit_actions(first)[-1] == "series.approved"
    assert f'id="series-{first.id}"' not in client.get("/bookings/queue").get_data(as_text=True)


def test_reject_a_series_with_a_reason(client, login, lab):
    _, manager, _ = lab
    found = a_series(lab)
    login(manager)
    client.post(f"/series/{found.id}/reject", data={"reason": "Room closed in December"})
    assert {(b.state, b.decision_reason) for b in found.bookings} == {
        ("rejected", "Room closed in December")}


def test_the_booker_cancels_this_and_following_then_the_rest(client, login, lab):
    _, _, student = lab
    found = a_series(lab)
    login(student)
    page = client.get("/bookings/mine").get_data(as_text=True)
    assert page.count("series-cancel-following") == 4 and "series-cancel-all" in page
    third = found.bookings[2]
    client.post(f"/series/{found.id}/cancel", data={"scope": "following", "booking": third.id})
    assert [b.state for b in found.bookings] == ["pending", "pending", "cancelled", "cancelled"]
    client.post(f"/series/{found.id}/cancel", data={"scope": "all"})
    assert {b.state for b in found.bookings} == {"cancelled"}
    assert "This booking can no longer be cancelled" in client.post(
        f"/series/{found.id}/cancel", data={"scope": "all"},
        follow_redirects=True).get_data(as_text=True)


def test_following_names_an_occurrence_of_the_same_series(client, login, lab, make):
    _, _, student = lab
    found = a_series(lab)
    single = make.booking(found.instrument, student, TUESDAY_24_NOV_10AM + timedelta(hours=3))
    login(student)
    for booking_id in (single.id, 0, 2**40):
        assert client.post(f"/series/{found.id}/cancel", data={
            "scope": "following", "booking": booking_id}).status_code == 400
    assert {b.state for b in found.bookings} == {"pending"}


# --- denials -------------------------------------------------------------------------------------
def test_nobody_decides_or_cancels_someone_elses_series(client, login, lab, make):
    instrument, manager, student = lab
    found = a_series(lab)
    stranger = make.user(role="student")
    other_lab = make.user(role="lab_manager")
    for who, action, status in (
            (stranger, "approve", 404), (stranger, "reject", 404), (stranger, "cancel", 404),
            (other_lab, "approve", 404), (other_lab, "cancel", 404),
            (student, "approve", 403), (student, "reject", 403),  # the booker cannot decide
            (manager, "cancel", 403)):  # the lab cancels occurrences one by one
        login(who)
        answer = client.post(f"/series/{found.id}/{action}",
                             data={"reason": "no", "scope": "all"})
        assert answer.status_code == status, (who.email, action)
    assert {b.state for b in found.bookings} == {"pending"}


def test_the_series_pages_need_a_login(client, lab):
    instrument, _, _ = lab
    found = a_series(lab)
    assert client.get(f"/instruments/{instrument.id}/series.json",
                      query_string={**SLOT, **WEEKLY_4}).status_code == 302
    for url in (f"/instruments/{instrument.id}/book/series", f"/series/{found.id}/approve",
                f"/series/{found.id}/cancel"):
        assert client.post(url, data={**SLOT, **WEEKLY_4, "purpose": "x"}).status_code == 302
    assert len(found.bookings) == 4 and {b.state for b in found.bookings} == {"pending"}
