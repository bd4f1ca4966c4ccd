"""Kept calendars (booking.bookings.calendar_cache): a repeated calendar costs one primary-key
read, and every change the calendar shows, time passing included, reaches the next reader."""
from datetime import date, time, timedelta

import pytest
from flask import current_app
from freezegun import freeze_time
from sqlalchemy import update

from booking.bookings.calendar import CalendarInstrument
from booking.extensions import db
from booking.instruments.models import Blackout, OpeningException, OpeningHours
from tests.moments import MONDAY_23_NOV_8AM, TUESDAY_24_NOV_10AM
from tests.sql import statements

WEEK = {"start": "2026-11-23T00:00:00", "end": "2026-11-30T00:00:00"}


@pytest.fixture(autouse=True)
def frozen():
    with freeze_time(MONDAY_23_NOV_8AM) as clock:
        yield clock


@pytest.fixture
def instrument(make):
    return make.instrument(lead_minutes=60)


def calendar(client, instrument, query=WEEK):
    response = client.get(f"/instruments/{instrument.id}/calendar.json", query_string=query)
    assert response.status_code == 200
    return response.get_json()


def uncached(client, instrument, query=WEEK):
    current_app.extensions["calendar_cache"].clear()
    return calendar(client, instrument, query)


def test_a_repeated_calendar_is_one_primary_key_read(client, make, instrument):
    make.booking(instrument, make.user(), TUESDAY_24_NOV_10AM)
    assert instrument.id  # loaded again after the commit, before counting
    with statements(selects=True) as first:
        body = calendar(client, instrument)
    with statements(selects=True) as again:
        assert calendar(client, instrument) == body
    assert len(first) == 2 and "UNION ALL" in first[1]  # the instrument's row, then its rows
    assert len(again) == 1 and "UNION" not in again[0] and "calendar_version" in again[0]
    assert body["busy"]


def _blackout(instrument, make):
    db.session.add(Blackout(instrument_id=instrument.id, start_at=TUESDAY_24_NOV_10AM,
                            end_at=TUESDAY_24_NOV_10AM + timedelta(hours=3), reason="校准"))


@pytest.mark.parametrize("change", [
    lambda i, make: make.booking(i, make.user(), TUESDAY_24_NOV_10AM),
    _blackout,
    lambda i, make: db.session.add(OpeningException(instrument_id=i.id, day=date(2026, 11, 25))),
    lambda i, make: db.session.add(OpeningException(instrument_id=i.id, day=date(2026, 11, 28),
                                                    opens=time(9), closes=time(12))),
    lambda i, make: db.session.execute(update(OpeningHours).where(
        OpeningHours.instrument_id == i.id).values(closes=time(17))),
    lambda i, make: setattr(i, "lead_minutes", 120),
    lambda i, make: setattr(i, "status", "maintenance"),
    lambda i, make: setattr(i, "timezone", "Europe/Berlin"),
], ids=["booking", "blackout", "closed day", "open saturday", "hours", "lead time", "status",
        "timezone"])
def test_every_change_reaches_the_next_reader(client, make, instrument, change):
    before = calendar(client, instrument)
    change(instrument, make)
    db.session.commit()
    after = calendar(client, instrument)
    assert after != before
    assert after == uncached(client, instrument)


def test_a_cancelled_booking_frees_its_slot(client, make, instrument):
    booking = make.booking(instrument, make.user(), TUESDAY_24_NOV_10AM)
    busy = calendar(client, instrument)
    booking.state = "cancelled"
    db.session.commit()
    freed = calendar(client, instrument)
    assert freed != busy and freed == uncached(client, instrument)
    assert not freed["busy"]


def first_free(body) -> str:
    return min(start for start, _ in body["free"])


def test_time_passing_moves_the_first_free_slot(client, instrument, frozen):
    today = {"start": "2026-11-23T00:00:00", "end": "2026-11-24T00:00:00"}
    assert first_free(calendar(client, instrument, today)) == "2026-11-23T09:00"  # lead: 1 h
    frozen.move_to(MONDAY_23_NOV_8AM + timedelta(minutes=1))
    assert first_free(calendar(client, instrument, today)) == "2026-11-23T09:30"
    frozen.move_to(MONDAY_23_NOV_8AM + timedelta(minutes=29, seconds=59))
    with statements(selects=True) as seen:  # same grid point: the kept body, one version check
        assert first_free(calendar(client, instrument, today)) == "2026-11-23T09:30"
    assert len(seen) == 1 and "UNION" not in seen[0]
    frozen.move_to(MONDAY_23_NOV_8AM + timedelta(minutes=31))
    assert first_free(calendar(client, instrument, today)) == "2026-11-23T10:00"
    frozen.move_to(MONDAY_23_NOV_8AM + timedelta(hours=9, minutes=30))
    assert calendar(client, instrument, today)["free"] == []  # 18:30: nothing left today


def test_viewers_never_see_each_others_kept_calendars(client, make, login, instrument):
    me, other = make.user(), make.user()
    make.booking(instrument, me, TUESDAY_24_NOV_10AM)

    def kinds():
        body = calendar(client, instrument)
        return sorted(kind for kind in ("blackout", "busy", "own") for _ in body[kind])

    login(me)
    assert kinds() == ["own"]
    login(other)
    assert kinds() == ["busy"]
    client.post("/logout")
    assert kinds() == ["busy"]
    login(me)
    assert kinds() == ["own"]


def test_an_instrument_made_private_is_hidden_at_once(client, make, instrument):
    calendar(client, instrument)
    instrument.is_public = False
    db.session.commit()
    response = client.get(f"/instruments/{instrument.id}/calendar.json", query_string=WEEK)
    assert response.status_code == 404


def test_the_kept_calendars_are_bounded():
    from booking.bookings.calendar_cache import CalendarCache

    cache = CalendarCache(max_bytes=10, bodies_per_instrument=2)

    def keep(instrument_id, key, version=7):
        instrument = CalendarInstrument(
            instrument_id, 1, "Asia/Shanghai", "active", True, 30, 30, 480, 60, 60, 24, 48,
            True, True, False, version)
        cache._keep(instrument, key, b"[1]")

    for instrument_id in (1, 2, 3, 4):
        for key in ("a", "b", "c"):
            keep(instrument_id, key)
    assert list(cache._entries) == [3, 4]  # 3 bytes a body, 10 bytes in all
    assert [len(entry.bodies) for entry in cache._entries.values()] == [1, 1]
    assert cache._bytes == 6
    keep(4, "a", version=8)  # a new version replaces what was kept of the old one
    assert list(cache._entries[4].bodies) == ["a"] and cache._bytes == 6


def test_a_cache_of_zero_bytes_keeps_nothing(app, client, instrument, monkeypatch):
    from booking.bookings.calendar_cache import CalendarCache

    monkeypatch.setitem(app.extensions, "calendar_cache", CalendarCache(max_bytes=0))
    assert instrument.id
    with statements(selects=True) as seen:
        assert calendar(client, instrument) == calendar(client, instrument)
    assert len(seen) == 4 and ["UNION ALL" in statement for statement in seen] == [
        False, True, False, True]


# --- conditional requests (issue 21): FullCalendar asks again on every navigation ---------------
def _get(client, instrument, etag=None, query=WEEK):
    headers = {"If-None-Match": etag} if etag else {}
    return client.get(f"/instruments/{instrument.id}/calendar.json", query_string=query,
                      headers=headers)


def test_a_current_copy_is_answered_304_without_a_body_or_a_calendar_read(client, instrument):
    first = _get(client, instrument)
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "private, no-cache"
    with statements(selects=True) as seen:
        again = _get(client, instrument, etag)
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    assert len(seen) == 1 and "UNION" not in seen[0]  # the version check only
    # another worker (nothing kept) reads the calendar but still sends no body, and keeps it:
    # the browser revalidates there again, and that must not read the calendar every time
    current_app.extensions["calendar_cache"].clear()
    assert _get(client, instrument, etag).status_code == 304
    with statements(selects=True) as seen:
        assert _get(client, instrument, etag).status_code == 304
        assert _get(client, instrument).data == first.data
    assert len(seen) == 2 and not any("UNION" in statement for statement in seen)


@pytest.mark.parametrize("change", [
    lambda i, make, frozen: make.booking(i, make.user(), TUESDAY_24_NOV_10AM),
    lambda i, make, frozen: _blackout(i, make),
    lambda i, make, frozen: frozen.tick(timedelta(hours=2)),  # the bookable window moved
])
def test_any_change_the_calendar_shows_gives_a_new_etag_and_body(client, make, instrument,
                                                                 frozen, change):
    etag = _get(client, instrument).headers["ETag"]
    change(instrument, make, frozen)
    db.session.commit()
    response = _get(client, instrument, etag)
    assert response.status_code == 200 and response.headers["ETag"] != etag
    assert response.get_json() == uncached(client, instrument)


def test_each_viewer_and_range_has_its_own_etag(client, make, instrument, login):
    anonymous = _get(client, instrument).headers["ETag"]
    other_week = _get(client, instrument, query={"start": "2026-11-30T00:00:00",
                                                 "end": "2026-12-07T00:00:00"}).headers["ETag"]
    login(make.user())
    signed_in = _get(client, instrument, anonymous)
    assert signed_in.status_code == 200
    assert len({anonymous, other_week, signed_in.headers["ETag"]}) == 3


def test_a_hidden_instrument_is_404_even_with_a_current_etag(client, instrument):
    etag = _get(client, instrument).headers["ETag"]
    instrument.is_public = False
    db.session.commit()
    assert _get(client, instrument, etag).status_code == 404
