"""instruments.calendar_version: a counter the database bumps whenever anything an
instrument's calendar shows changes, so a worker may keep a rendered calendar for as long as
the counter stands still (booking.bookings.calendar_cache).

What bumps it, in the same transaction as the change (triggers, so every writer is covered:
views, CLI jobs, the seed, a manual SQL fix):
- bookings inserted or deleted, or updated in instrument, user, state, start or end;
- weekly opening hours, opening exceptions and blackouts inserted, updated or deleted;
- any update of the instrument row itself (status, visibility, rules, timezone ...).

PostgreSQL: bookings get statement-level triggers with transition tables (a bulk insert of
50,000 bookings bumps each instrument once per statement, not once per row); the rarely
written opening tables get row-level ones. SQLite has only row-level triggers.
The instrument's own trigger fires only when an update leaves the counter alone, so the
bookings' bump does not count twice. The bump locks the instrument's row until commit, so
transactions writing bookings of one instrument queue on each other (readers never wait;
overlapping writers could not both succeed anyway). A batch migration that recreates one of these tables
on SQLite drops its triggers: such a migration must create them again.
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_calendar_version"
down_revision = "0008_samples"
branch_labels = None
depends_on = None

OPENING_TABLES = ("opening_hours", "opening_exceptions", "blackouts")
SHOWN = ("instrument_id", "user_id", "state", "start_at", "end_at")  # a booking's, on the calendar


def _bump(ids: str) -> str:
    return f"UPDATE instruments SET calendar_version = calendar_version + 1 WHERE id IN ({ids})"


def _shown(alias: str) -> str:
    return ", ".join(f"{alias}.{column}" for column in SHOWN)


PG_FUNCTIONS = f"""
CREATE FUNCTION calendar_bump_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_bump("NEW.instrument_id, OLD.instrument_id")};
    RETURN NULL;
END $$;

CREATE FUNCTION calendar_bump_bookings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_bump("SELECT instrument_id FROM new_rows")};
    ELSIF TG_OP = 'DELETE' THEN
        {_bump("SELECT instrument_id FROM old_rows")};
    ELSE
        {_bump(f"SELECT unnest(ARRAY[n.instrument_id, o.instrument_id]) "
               f"FROM new_rows AS n JOIN old_rows AS o ON o.id = n.id "
               f"WHERE ({_shown('n')}) IS DISTINCT FROM ({_shown('o')})")};
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION calendar_bump_instrument() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.calendar_version := OLD.calendar_version + 1;
    RETURN NEW;
END $$;
"""

PG_BOOKING_TRIGGERS = {  # PostgreSQL allows transition tables on single-event triggers only
    "insert": "REFERENCING NEW TABLE AS new_rows",
    "delete": "REFERENCING OLD TABLE AS old_rows",
    "update": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
}


def _postgresql_upgrade() -> None:
    op.execute(PG_FUNCTIONS)
    for event, referencing in PG_BOOKING_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER calendar_bump_{event} AFTER {event.upper()} ON bookings "
                   f"{referencing} FOR EACH STATEMENT EXECUTE FUNCTION calendar_bump_bookings()")
    for table in OPENING_TABLES:
        op.execute(f"CREATE TRIGGER calendar_bump AFTER INSERT OR UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION calendar_bump_rows()")
    op.execute("CREATE TRIGGER calendar_bump BEFORE UPDATE ON instruments FOR EACH ROW "
               "WHEN (NEW.calendar_version = OLD.calendar_version) "
               "EXECUTE FUNCTION calendar_bump_instrument()")


def _sqlite_triggers() -> dict[str, str]:
    """name: CREATE TRIGGER statement."""
    triggers = {
        "calendar_bump_instrument": "AFTER UPDATE ON instruments "
        "WHEN NEW.calendar_version = OLD.calendar_version BEGIN "
        "UPDATE instruments SET calendar_version = OLD.calendar_version + 1 WHERE id = NEW.id; END",
        "calendar_bump_bookings_update": f"AFTER UPDATE OF {', '.join(SHOWN)} ON bookings "
        f"WHEN ({_shown('NEW')}) IS NOT ({_shown('OLD')}) "
        f"BEGIN {_bump('NEW.instrument_id, OLD.instrument_id')}; END",
    }
    for table in ("bookings", *OPENING_TABLES):
        triggers[f"calendar_bump_{table}_insert"] = \
            f"AFTER INSERT ON {table} BEGIN {_bump('NEW.instrument_id')}; END"
        triggers[f"calendar_bump_{table}_delete"] = \
            f"AFTER DELETE ON {table} BEGIN {_bump('OLD.instrument_id')}; END"
    for table in OPENING_TABLES:
        triggers[f"calendar_bump_{table}_update"] = \
            f"AFTER UPDATE ON {table} BEGIN {_bump('NEW.instrument_id, OLD.instrument_id')}; END"
    return triggers


def upgrade():
    op.add_column("instruments", sa.Column("calendar_version", sa.BigInteger(), nullable=False,
                                           server_default="0"))
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_upgrade()
    else:
        for name, body in _sqlite_triggers().items():
            op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for event in PG_BOOKING_TRIGGERS:
            op.execute(f"DROP TRIGGER calendar_bump_{event} ON bookings")
        for table in (*OPENING_TABLES, "instruments"):
            op.execute(f"DROP TRIGGER calendar_bump ON {table}")
        for function in ("rows", "bookings", "instrument"):
            op.execute(f"DROP FUNCTION calendar_bump_{function}()")
    else:
        for name in _sqlite_triggers():
            op.execute(f"DROP TRIGGER {name}")
    # in place on SQLite too (>= 3.35): recreating instruments would trip its foreign keys
    op.execute("ALTER TABLE instruments DROP COLUMN calendar_version")
