"""core.writes: INSERTs straight to the driver store what SQLAlchemy's own would, read back
what it would load, and fail as it would."""
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError
from sqlalchemy.orm import Session

from booking.bookings.models import Booking
from booking.core import writes
from booking.core.audit import AuditEvent
from booking.core.db import UTCDateTime, utc
from booking.core.writes import insert_returning, insert_rows
from booking.extensions import db
from booking.instruments.models import Instrument


def test_rows_arrive_with_their_defaults_json_and_aware_times(app):
    at = utc(2026, 3, 2, 1, 30)
    insert_rows(db.session, AuditEvent.__table__, [
        {"action": "writes.test", "object_id": n, "data": {"n": n, "名": "仪器"},
         "created_at": at + timedelta(minutes=n)} for n in range(3)])
    insert_rows(db.session, AuditEvent.__table__, [{"action": "writes.default"}])
    insert_rows(db.session, AuditEvent.__table__, [])  # nothing to write: no statement
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "writes.test")
                                .order_by(AuditEvent.object_id)).all()
    assert [e.data for e in events] == [{"n": n, "名": "仪器"} for n in range(3)]
    assert events[2].created_at == at + timedelta(minutes=2)  # aware UTC both ways
    default = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "writes.default")).one()
    assert default.data == {} and default.created_at.tzinfo is not None  # Python defaults


def _booking_row(instrument, user, start):
    return {"instrument_id": instrument.id, "user_id": user.id,
            "organisation_id": user.organisation_id, "start_at": start,
            "end_at": start + timedelta(hours=1), "mode": "self_operated",
            "purpose": "writes", "state": "approved", "created_at": utc(2026, 3, 1),
            "updated_at": utc(2026, 3, 1, 8)}


def test_the_returned_row_is_what_sqlalchemy_returns(make):
    instrument, user = make.instrument(), make.user()
    version = instrument.calendar_version
    start = utc(2026, 3, 2, 1)
    ours = insert_returning(db.session, Booking.__table__, _booking_row(instrument, user, start))
    theirs = db.session.connection().execute(
        insert(Booking.__table__).returning(*Booking.__table__.c),
        _booking_row(instrument, user, start + timedelta(hours=2))).one()
    assert len(ours) == len(theirs) == len(Booking.__table__.c)
    for column, mine, sqlalchemy in zip(Booking.__table__.c, ours, theirs, strict=True):
        if column.key not in ("id", "start_at", "end_at"):
            assert (mine, type(mine)) == (sqlalchemy, type(sqlalchemy)), column.key
    assert ours[Booking.__table__.c.keys().index("start_at")] == start  # aware UTC
    assert ours[Booking.__table__.c.keys().index("late_cancel")] is False  # a bool, not 0
    db.session.expire_all()
    assert db.session.get(Instrument, instrument.id).calendar_version > version  # triggers ran


def test_a_driver_error_is_raised_as_sqlalchemy_raises_it(make):
    instrument, user = make.instrument(), make.user()
    row = _booking_row(instrument, user, utc(2026, 3, 2, 1))
    insert_returning(db.session, Booking.__table__, row)
    with pytest.raises(IntegrityError, match="booking_overlap|23P01|no_overlap"), \
            db.session.begin_nested():
        insert_returning(db.session, Booking.__table__, row)  # the same slot again
    with pytest.raises(IntegrityError), db.session.begin_nested():
        insert_rows(db.session, AuditEvent.__table__, [{"action": None}])  # NOT NULL


def test_rows_with_other_keys_are_refused_rather_than_silently_cut(app):
    rows = [{"action": "writes.keys", "object_id": 1},
            {"action": "writes.keys", "object_id": 2, "actor_id": None}]
    with pytest.raises(ValueError, match="differ in their keys"), db.session.begin_nested():
        insert_rows(db.session, AuditEvent.__table__, rows)


def test_a_value_its_column_cannot_take_is_a_statement_error(app):
    with pytest.raises(StatementError, match="naive datetime"), db.session.begin_nested():
        insert_rows(db.session, AuditEvent.__table__,
                    [{"action": "writes.naive", "created_at": datetime(2026, 3, 2, 9)}])


@pytest.fixture
def postgresql(database_url):
    """A table of our own on the PostgreSQL server, outside the tests' transaction."""
    if not database_url.startswith("postgresql"):
        pytest.skip("no PostgreSQL (TEST_DATABASE_URL) to hang up")
    engine = create_engine(database_url)
    table = Table("writes_t", MetaData(), Column("id", Integer, primary_key=True),
                  Column("v", Integer), Column("at", UTCDateTime))
    table.drop(engine, checkfirst=True)
    table.create(engine)
    yield engine, table
    table.drop(engine)
    engine.dispose()


@pytest.mark.committing
def test_a_connection_the_server_dropped_is_invalidated_as_after_any_statement(postgresql):
    engine, table = postgresql
    session = Session(engine)
    victim = session.scalar(text("SELECT pg_backend_pid()"))
    with engine.connect() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": victim})
    with pytest.raises(DBAPIError) as raised:
        insert_rows(session, table, [{"v": 1}])
    assert raised.value.connection_invalidated
    session.rollback()  # on the lost connection, this failed: "the connection is lost"
    insert_rows(session, table, [{"v": 2}])
    session.commit()
    assert session.scalars(select(table.c.v)).all() == [2]
    session.close()


def test_plain_inserts_return_nothing_on_postgresql(postgresql):
    """Compiled as one row, PostgreSQL's INSERT ended in RETURNING id, which nothing read."""
    engine, table = postgresql
    assert "RETURNING" not in writes._plan(table, ("v",), engine.dialect, False).sql
    assert "RETURNING" in writes._plan(table, ("v",), engine.dialect, True).sql
