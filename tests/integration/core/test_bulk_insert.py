"""core.db.bulk_insert: COPY on PostgreSQL, batched executemany elsewhere, with the columns'
Python-side defaults and the statement triggers of the bookings table."""
from datetime import time, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from booking.bookings.models import Booking
from booking.core import db as core_db
from booking.core.audit import AuditEvent
from booking.core.db import bulk_insert, utc
from booking.extensions import db
from booking.instruments.models import Instrument, OpeningHours


def test_rows_defaults_json_and_aware_times_arrive_intact(app, monkeypatch):
    monkeypatch.setattr(core_db, "BULK_BATCH", 3)  # several batches on SQLite
    at = utc(2026, 3, 2, 1, 30)
    rows = [{"action": "bulk.test", "object_id": n, "data": {"n": n, "名": "仪器"},
             "created_at": at + timedelta(minutes=n)} for n in range(7)]
    assert bulk_insert(db.session, AuditEvent.__table__, iter(rows)) == 7
    assert bulk_insert(db.session, AuditEvent.__table__, []) == 0
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "bulk.test")
                                .order_by(AuditEvent.object_id)).all()
    assert [e.data for e in events] == [{"n": n, "名": "仪器"} for n in range(7)]
    assert events[6].created_at == at + timedelta(minutes=6)  # aware UTC both ways
    assert events[0].actor_id is None and events[0].ip is None


def test_bookings_loaded_in_bulk_bump_the_calendar_and_keep_the_overlap_guard(make):
    instrument = make.instrument()
    user = make.user()
    version = instrument.calendar_version
    start = utc(2026, 3, 2, 1)
    rows = [{"instrument_id": instrument.id, "user_id": user.id,
             "organisation_id": user.organisation_id, "start_at": start + timedelta(hours=n),
             "end_at": start + timedelta(hours=n, minutes=50), "mode": "self_operated",
             "purpose": "bulk", "state": "approved", "created_at": start, "updated_at": start}
            for n in range(5)]
    assert bulk_insert(db.session, Booking.__table__, rows) == 5
    db.session.expire_all()
    assert db.session.get(Instrument, instrument.id).calendar_version > version
    booked = db.session.scalars(select(Booking).where(Booking.instrument_id == instrument.id))
    assert sorted(b.start_at for b in booked) == [r["start_at"] for r in rows]
    assert all(b.billed_separately is False and b.sample_count == 0 for b in
               db.session.scalars(select(Booking).where(Booking.purpose == "bulk")))


def test_an_overlap_in_a_bulk_load_is_refused_by_the_database(make):
    instrument, user = make.instrument(), make.user()
    start = utc(2026, 3, 2, 1)
    row = {"instrument_id": instrument.id, "user_id": user.id,
           "organisation_id": user.organisation_id, "start_at": start,
           "end_at": start + timedelta(hours=1), "mode": "self_operated", "purpose": "bulk",
           "state": "approved", "created_at": start, "updated_at": start}
    with pytest.raises(IntegrityError), db.session.begin_nested():
        bulk_insert(db.session, Booking.__table__, [row, {**row, "end_at": start +
                                                         timedelta(minutes=30)}])


def test_rows_with_other_keys_are_refused_rather_than_silently_cut(app):
    rows = [{"action": "bulk.keys", "object_id": 1},
            {"action": "bulk.keys", "object_id": 2, "actor_id": None}]
    with pytest.raises(ValueError, match="differ in their keys"), db.session.begin_nested():
        bulk_insert(db.session, AuditEvent.__table__, rows)


def test_a_load_without_triggers_leaves_them_on_for_what_follows(make):
    instrument = make.instrument()
    version = instrument.calendar_version
    bulk_insert(db.session, OpeningHours.__table__, [
        {"instrument_id": instrument.id, "weekday": 6, "opens": time(9), "closes": time(12)}],
        fire_triggers=False)
    db.session.expire_all()
    bumped = db.session.get(Instrument, instrument.id).calendar_version
    if db.engine.dialect.name == "postgresql":
        assert bumped == version  # skipped for the load
    bulk_insert(db.session, OpeningHours.__table__, [
        {"instrument_id": instrument.id, "weekday": 6, "opens": time(13), "closes": time(17)}])
    db.session.expire_all()
    assert db.session.get(Instrument, instrument.id).calendar_version > bumped
