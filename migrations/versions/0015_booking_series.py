"""Recurring booking series (issue 18): a `booking_series` row keeps the rule (RFC 5545 FREQ,
INTERVAL, BYDAY, COUNT or UNTIL) and the first slot; each occurrence is an ordinary booking
pointing at it through `bookings.series_id`, so the no-overlap guard protects every one.

Plain ALTER TABLE ADD/DROP COLUMN on bookings: SQLite would otherwise recreate a table other
tables point at (its index goes first on the way down: SQLite drops no indexed column).
"""
import sqlalchemy as sa
from alembic import op

from booking.core.db import UTCDateTime

revision = "0015_booking_series"
down_revision = "0014_inbox"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "booking_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instrument_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("freq", sa.String(length=8), nullable=False),
        sa.Column("every", sa.Integer(), nullable=False),
        sa.Column("byweekday", sa.String(length=20), nullable=False),
        sa.Column("times", sa.Integer(), nullable=True),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("start_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("end_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("freq IN ('daily', 'weekly', 'monthly')",
                           name=op.f("ck_booking_series_freq")),
        sa.CheckConstraint("every BETWEEN 1 AND 52", name=op.f("ck_booking_series_every")),
        sa.CheckConstraint("times BETWEEN 1 AND 120", name=op.f("ck_booking_series_times")),
        sa.CheckConstraint("(times IS NULL) <> (until IS NULL)",
                           name=op.f("ck_booking_series_one_end")),
        sa.CheckConstraint("start_at < end_at", name=op.f("ck_booking_series_order")),
        sa.ForeignKeyConstraint(["instrument_id"], ["instruments.id"],
                                name=op.f("fk_booking_series_instrument_id_instruments")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_booking_series_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_series")),
    )
    op.create_index(op.f("ix_booking_series_instrument_id"), "booking_series", ["instrument_id"])
    op.create_index(op.f("ix_booking_series_user_id"), "booking_series", ["user_id"])
    op.execute("ALTER TABLE bookings ADD COLUMN series_id INTEGER CONSTRAINT "
               "fk_bookings_series_id_booking_series REFERENCES booking_series (id)")
    op.create_index(op.f("ix_bookings_series_id"), "bookings", ["series_id"])


def downgrade():
    op.drop_index(op.f("ix_bookings_series_id"), table_name="bookings")
    op.execute("ALTER TABLE bookings DROP COLUMN series_id")
    op.drop_index(op.f("ix_booking_series_user_id"), table_name="booking_series")
    op.drop_index(op.f("ix_booking_series_instrument_id"), table_name="booking_series")
    op.drop_table("booking_series")
