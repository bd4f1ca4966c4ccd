"""bookings and the no-overlap constraint (issue 4)

Revision ID: 0003_bookings
Revises: 0002_catalogue

No two slot-occupying bookings (pending, approved, in_use) of one instrument may overlap.
PostgreSQL: an exclusion constraint over tstzrange (btree_gist for the equality on
instrument_id). SQLite: triggers that abort an overlapping insert or update; writers run inside
BEGIN IMMEDIATE (booking/core/db.py), so the check and the write are serialised. SQLite keeps
UTCDateTime as naive UTC text in one fixed format ('YYYY-MM-DD HH:MM:SS.ffffff'), so text
comparison orders moments correctly.
"""
import sqlalchemy as sa
from alembic import op

import booking.core.db

revision = "0003_bookings"
down_revision = "0002_catalogue"
branch_labels = None
depends_on = None

OCCUPYING = "('pending', 'approved', 'in_use')"
STATES = ("('pending', 'approved', 'in_use', 'completed', 'rejected', 'cancelled', 'expired', "
          "'no_show')")

SQLITE_TRIGGER = """
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


def _utc(name, nullable=False):
    return sa.Column(name, booking.core.db.UTCDateTime(timezone=True), nullable=nullable)


def _create_tables():
    op.create_table(
        "bookings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instrument_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        _utc("start_at"), _utc("end_at"),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        _utc("decided_at", nullable=True),
        sa.Column("decision_reason", sa.String(length=500), nullable=False),
        _utc("cancelled_at", nullable=True),
        sa.Column("late_cancel", sa.Boolean(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        _utc("updated_at"), _utc("created_at"),
        sa.CheckConstraint(f"state IN {STATES}", name=op.f("ck_bookings_state")),
        sa.CheckConstraint("mode IN ('self_operated', 'staff_operated')",
                           name=op.f("ck_bookings_mode")),
        sa.CheckConstraint("start_at < end_at", name=op.f("ck_bookings_order")),
        sa.ForeignKeyConstraint(["instrument_id"], ["instruments.id"],
                                name=op.f("fk_bookings_instrument_id_instruments")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_bookings_user_id_users")),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"],
                                name=op.f("fk_bookings_organisation_id_organisations")),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"],
                                name=op.f("fk_bookings_decided_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bookings")),
    )
    op.create_index("ix_bookings_instrument_start", "bookings", ["instrument_id", "start_at"])
    op.create_index("ix_bookings_state_created", "bookings", ["state", "created_at"])
    op.create_index(op.f("ix_bookings_user_id"), "bookings", ["user_id"])
    op.create_index(op.f("ix_bookings_organisation_id"), "bookings", ["organisation_id"])

    op.create_table(
        "feed_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        _utc("created_at"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_feed_tokens_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_tokens")),
        sa.UniqueConstraint("user_id", name=op.f("uq_feed_tokens_user_id")),
        sa.UniqueConstraint("token", name=op.f("uq_feed_tokens_token")),
    )

    op.create_table(
        "training_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("instrument_id", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        _utc("decided_at", nullable=True), _utc("created_at"),
        sa.CheckConstraint("state IN ('open', 'granted', 'declined')",
                           name=op.f("ck_training_requests_state")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_training_requests_user_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["instrument_id"], ["instruments.id"],
                                name=op.f("fk_training_requests_instrument_id_instruments"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"],
                                name=op.f("fk_training_requests_decided_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_requests")),
    )
    op.create_index(op.f("ix_training_requests_user_id"), "training_requests", ["user_id"])
    op.create_index(op.f("ix_training_requests_instrument_id"), "training_requests",
                    ["instrument_id"])


def upgrade():
    _create_tables()
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            "ALTER TABLE bookings ADD CONSTRAINT ex_bookings_no_overlap EXCLUDE USING gist "
            "(instrument_id WITH =, tstzrange(start_at, end_at, '[)') WITH &&) "
            f"WHERE (state IN {OCCUPYING})")
    else:
        op.execute(SQLITE_TRIGGER.format(event="insert", event_sql="INSERT",
                                         occupying=OCCUPYING, not_self=""))
        op.execute(SQLITE_TRIGGER.format(
            event="update", event_sql="UPDATE OF instrument_id, start_at, end_at, state",
            occupying=OCCUPYING, not_self="AND other.id != NEW.id"))


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS bookings_no_overlap_update")
        op.execute("DROP TRIGGER IF EXISTS bookings_no_overlap_insert")
    op.drop_table("training_requests")
    op.drop_table("feed_tokens")
    op.drop_table("bookings")
