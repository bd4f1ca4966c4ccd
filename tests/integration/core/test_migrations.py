from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from booking.extensions import db
from booking.instruments.search_index import include_object


def test_models_and_migrations_agree(app):
    """The migrated schema matches the models: no pending autogenerate diff."""
    context = MigrationContext.configure(db.session.connection(), opts={
        "compare_type": True, "include_object": include_object})
    diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_aware_utc_roundtrip(app, make):
    from datetime import UTC, datetime, timedelta, timezone

    from booking.core.audit import AuditEvent

    shanghai = timezone(timedelta(hours=8))
    event = AuditEvent(action="test", created_at=datetime(2026, 3, 1, 9, 30, tzinfo=shanghai))
    db.session.add(event)
    db.session.commit()
    db.session.expire_all()
    loaded = db.session.get(AuditEvent, event.id)
    assert loaded.created_at.utcoffset() == timedelta(0)
    assert loaded.created_at == datetime(2026, 3, 1, 1, 30, tzinfo=UTC)
