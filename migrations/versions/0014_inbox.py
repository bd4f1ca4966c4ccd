"""In-app inbox of notices and per-user notice preferences (issue 18).

- inbox_notices: a copy of every notice a user is sent, with when it was read; a partial index
  of the unread ones keeps the badge's COUNT on every page small.
- users.notice_preferences: which groups of notices also come by e-mail and which reminders a
  user wants (JSON; NULL: the defaults), read with the user at no extra query.
- booking_reminders: the reminders sent before a booking starts, one per booking, horizon and
  start (the job is idempotent); a partial index of approved bookings by start for that job.

Plain ADD/DROP COLUMN and new tables: SQLite would otherwise recreate users, which others point at.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from booking.core.db import UTCDateTime

revision = "0014_inbox"
down_revision = "0013_check_in_window"
branch_labels = None
depends_on = None

UNREAD = sa.text("read_at IS NULL")
APPROVED = sa.text("state = 'approved'")


def upgrade():
    op.create_table(
        "inbox_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=300), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name="fk_inbox_notices_user_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_inbox_notices"),
    )
    op.create_index("ix_inbox_notices_user_id", "inbox_notices", ["user_id", "id"])
    op.create_index("ix_inbox_notices_unread", "inbox_notices", ["user_id"],
                    sqlite_where=UNREAD, postgresql_where=UNREAD)
    op.add_column("users", sa.Column("notice_preferences",
                                     sa.JSON().with_variant(JSONB(), "postgresql"),
                                     nullable=True))
    op.create_table(
        "booking_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("horizon", sa.String(length=8), nullable=False),
        sa.Column("start_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"], ondelete="CASCADE",
                                name="fk_booking_reminders_booking_id_bookings"),
        sa.PrimaryKeyConstraint("id", name="pk_booking_reminders"),
        sa.UniqueConstraint("booking_id", "horizon", "start_at",
                            name="uq_booking_reminders_booking_id"),
    )
    op.create_index("ix_bookings_approved_start", "bookings", ["start_at"],
                    sqlite_where=APPROVED, postgresql_where=APPROVED)


def downgrade():
    op.drop_index("ix_bookings_approved_start", table_name="bookings")
    op.drop_table("booking_reminders")
    op.execute("ALTER TABLE users DROP COLUMN notice_preferences")
    op.drop_table("inbox_notices")
