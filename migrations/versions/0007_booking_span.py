"""Bookings last at most 7 days, so overlap searches are short index ranges.

The database refuses longer bookings (PostgreSQL: a CHECK constraint; SQLite: the no-overlap
triggers, rewritten). Knowing that bound, the SQLite triggers look for clashes only among
bookings that start after NEW.start_at - 7 days: a range of ix_bookings_instrument_start
instead of every earlier booking of the instrument, so a booking's cost no longer grows with
the instrument's history. (PostgreSQL's exclusion constraint searches its GiST index already.)
Stored UTC text has a fraction ('... HH:MM:SS.ffffff') and datetime() returns none, so the
lower bound compares a hair early: it may read one booking more, never one too few.
"""
from alembic import op

revision = "0007_booking_span"
down_revision = "0006_rankings"
branch_labels = None
depends_on = None

OCCUPYING = "('pending', 'approved', 'in_use')"
MAX_DAYS = 7

TRIGGER = """
CREATE TRIGGER bookings_no_overlap_{event} BEFORE {event_sql} ON bookings
WHEN NEW.state IN {occupying}
BEGIN
    SELECT RAISE(ABORT, 'booking_too_long')
    WHERE julianday(NEW.end_at) - julianday(NEW.start_at) > {days} + 1e-9;
    SELECT RAISE(ABORT, 'booking_overlap') WHERE EXISTS (
        SELECT 1 FROM bookings AS other
        WHERE other.instrument_id = NEW.instrument_id
          AND other.start_at < NEW.end_at
          AND other.start_at > datetime(NEW.start_at, '-{days} days')
          AND NEW.start_at < other.end_at
          AND other.state IN {occupying}
          {not_self});
END
"""

# 0003's triggers, for downgrade
OLD_TRIGGER = """
CREATE TRIGGER bookings_no_overlap_{event} BEFORE {event_sql} ON bookings
WHEN NEW.state IN {occupying}
BEGIN
    SELECT RAISE(ABORT, 'booking_overlap') WHERE EXISTS (
        SELECT 1 FROM bookings AS other
        WHERE other.instrument_id = NEW.instrument_id
          AND other.state IN {occupying}
          AND other.start_at < NEW.end_at AND NEW.start_at < other.end_at
          {not_self});
END
"""

EVENTS = (("insert", "INSERT", ""),
          ("update", "UPDATE OF instrument_id, start_at, end_at, state", "AND other.id != NEW.id"))


def _triggers(template: str) -> None:
    for event, event_sql, not_self in EVENTS:
        op.execute(f"DROP TRIGGER IF EXISTS bookings_no_overlap_{event}")
        op.execute(template.format(event=event, event_sql=event_sql, occupying=OCCUPYING,
                                   not_self=not_self, days=MAX_DAYS))


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE bookings ADD CONSTRAINT ck_bookings_span "
                   f"CHECK (end_at - start_at <= interval '{MAX_DAYS} days')")
    else:
        _triggers(TRIGGER)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE bookings DROP CONSTRAINT ck_bookings_span")
    else:
        _triggers(OLD_TRIGGER)
