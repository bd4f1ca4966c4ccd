"""Wait lists for taken slots (issue 18): who waits for which time of an instrument, in order
of arrival, and the offer made to the first in line when the time frees (held until
offer_expires_at)."""
import sqlalchemy as sa
from alembic import op

from booking.core.db import UTCDateTime

revision = "0016_waitlist"
down_revision = "0015_booking_series"
branch_labels = None
depends_on = None

STATES = ("waiting", "offered", "booked", "expired", "left")


def upgrade():
    op.create_table(
        "waitlist_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instrument_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("start_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("end_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("sample_count", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("offered_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("offer_expires_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"state IN {STATES!r}", name=op.f("ck_waitlist_entries_state")),
        sa.CheckConstraint("start_at < end_at", name=op.f("ck_waitlist_entries_order")),
        sa.ForeignKeyConstraint(["instrument_id"], ["instruments.id"],
                                name=op.f("fk_waitlist_entries_instrument_id_instruments")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_waitlist_entries_user_id_users")),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"],
                                name=op.f("fk_waitlist_entries_booking_id_bookings")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_entries")),
    )
    op.create_index("ix_waitlist_entries_instrument_state_start", "waitlist_entries",
                    ["instrument_id", "state", "start_at"])
    op.create_index("ix_waitlist_entries_user_id", "waitlist_entries", ["user_id"])


def downgrade():
    op.drop_index("ix_waitlist_entries_user_id", table_name="waitlist_entries")
    op.drop_index("ix_waitlist_entries_instrument_state_start", table_name="waitlist_entries")
    op.drop_table("waitlist_entries")
