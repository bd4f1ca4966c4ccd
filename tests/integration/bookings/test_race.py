"""Concurrent requests for overlapping slots against a running server: the database lets exactly
one through (exclusion constraint on PostgreSQL, trigger + BEGIN IMMEDIATE on SQLite)."""
import threading
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy import func, select, text
from werkzeug.serving import make_server

from booking import create_app
from booking.bookings.models import Booking
from booking.bookings.rules import floor_to_grid
from booking.core.audit import AuditEvent
from booking.core.clock import now_utc
from booking.core.notifications import OutboxMessage
from booking.extensions import db
from config import TestingConfig
from tests.browser.conftest import _live_database_url
from tests.factories import Factory

pytestmark = pytest.mark.committing

RACERS = 24


@pytest.fixture(scope="module")
def race(database_url, tmp_path_factory):
    class RaceConfig(TestingConfig):
        SQLALCHEMY_DATABASE_URI = _live_database_url(database_url, tmp_path_factory, "race")

    app = create_app(RaceConfig)
    with app.app_context():
        from flask_migrate import upgrade

        from booking.accounts.services import create_api_token

        upgrade()
        make = Factory()
        instrument = make.instrument(hours="always", requires_approval=False)
        organisation = make.organisation()
        tokens = [create_api_token(make.user(organisation=organisation), "race")[1]
                  for _ in range(RACERS)]
        db.session.commit()
        instrument_id = instrument.id
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}", instrument_id, tokens
    server.shutdown()
    with app.app_context():
        db.engine.dispose()


def test_exactly_one_of_many_overlapping_requests_wins(race):
    app, url, instrument_id, tokens = race
    start = floor_to_grid(now_utc(), 60, "Asia/Shanghai") + timedelta(days=2)
    barrier = threading.Barrier(RACERS)
    results: list[tuple[int, dict]] = []

    def racer(i: int) -> None:
        begin = start + timedelta(minutes=30 * (i % 2))  # every pair overlaps
        body = {"instrument_id": instrument_id, "start": begin.isoformat(),
                "end": (begin + timedelta(hours=1)).isoformat(), "purpose": f"racer {i}",
                "mode": "self_operated"}
        barrier.wait()
        response = requests.post(f"{url}/api/v1/bookings", json=body, timeout=60,
                                 headers={"Authorization": f"Bearer {tokens[i]}"})
        results.append((response.status_code, response.json()))

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(RACERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * (RACERS - 1), results
    assert all(body["error"]["code"] == "booking_clash" for status, body in results
               if status == 409)
    winner = next(body for status, body in results if status == 201)
    with app.app_context():
        assert db.session.scalar(select(func.count(Booking.id))) == 1
        assert db.session.scalar(select(Booking.id)) == winner["id"]
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.action.like("booking.%"))) == 1
        assert db.session.scalar(select(func.count(OutboxMessage.id)).where(
            OutboxMessage.kind.like("booking.%"))) == 1


def test_the_calendar_reads_what_was_committed(race):
    """The calendar reads on a pooled connection outside any ORM session (autocommitting on
    PostgreSQL), as in production: a booking committed by one request shows in the next."""
    _, url, instrument_id, tokens = race
    start = floor_to_grid(now_utc(), 60, "Asia/Shanghai") + timedelta(days=5)
    body = {"instrument_id": instrument_id, "start": start.isoformat(),
            "end": (start + timedelta(hours=1)).isoformat(), "purpose": "calendar",
            "mode": "self_operated"}
    created = requests.post(f"{url}/api/v1/bookings", json=body, timeout=30,
                            headers={"Authorization": f"Bearer {tokens[0]}"})
    assert created.status_code == 201, created.text
    day = start.astimezone(ZoneInfo("Asia/Shanghai")).replace(hour=0, minute=0, tzinfo=None)
    for _ in range(2):  # the second time on a connection back from the pool
        body = requests.get(f"{url}/instruments/{instrument_id}/calendar.json", timeout=30,
                            params={"start": day.isoformat(),
                                    "end": (day + timedelta(days=1)).isoformat()}).json()
        busy = [tuple(span) for span in body["busy"]]
        local = start.astimezone(ZoneInfo("Asia/Shanghai"))
        assert busy == [(local.strftime("%Y-%m-%dT%H:%M"),
                         (local + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))]


@pytest.fixture
def exclusion_table(database_url):
    """A table guarded as bookings are on PostgreSQL: no two rows of a room overlap."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite's writers queue for one lock: they never deadlock")
    from sqlalchemy import create_engine

    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS btree_gist")
        connection.exec_driver_sql("DROP TABLE IF EXISTS deadlock_t")
        connection.exec_driver_sql("CREATE TABLE deadlock_t (room int, during tstzrange, "
                                   "EXCLUDE USING gist (room WITH =, during WITH &&))")
    yield engine
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE deadlock_t")
    engine.dispose()


def test_a_deadlock_of_two_overlapping_writes_is_a_clash(exclusion_table):
    """Two transactions each write a slot the other's next write overlaps: each waits on the
    other's exclusion check, and PostgreSQL refuses one with a deadlock (40P01), not 23P01. The
    booking API answered that with a 500; it is a clash like any other (409)."""
    from sqlalchemy.exc import DBAPIError

    from booking.bookings.requests import _is_overlap

    insert = text("INSERT INTO deadlock_t VALUES (:room, tstzrange(:start, :end))")

    def write(connection, room, start, end):
        connection.execute(insert, {"room": room, "start": f"2027-01-04 {start}+08",
                                    "end": f"2027-01-04 {end}+08"})

    refused = []

    def second_write(connection, room):
        try:
            write(connection, room, "10:30", "11:30")
        except DBAPIError as error:
            refused.append(error)
        finally:
            connection.rollback()

    with exclusion_table.connect() as first, exclusion_table.connect() as second:
        write(first, 1, "10:00", "11:00")
        write(second, 2, "10:00", "11:00")
        # each waits on the other, in whichever order they arrive: the server refuses one
        waiting = threading.Thread(target=second_write, args=(first, 2))
        waiting.start()
        second_write(second, 1)
        waiting.join()
    (error,) = refused
    assert error.orig.sqlstate == "40P01"
    assert _is_overlap(error)
