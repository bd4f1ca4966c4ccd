"""A partial index of the unsent outbox messages.

send_pending asks for the oldest unsent messages: without it, PostgreSQL walked the primary
key through every message ever sent (8 ms a round with 32,000 sent, and growing).
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_outbox_pending"
down_revision = "0009_calendar_version"
branch_labels = None
depends_on = None

WHERE = sa.text("sent_at IS NULL")


def upgrade():
    op.create_index("ix_outbox_messages_pending", "outbox_messages", ["id"],
                    sqlite_where=WHERE, postgresql_where=WHERE)


def downgrade():
    op.drop_index("ix_outbox_messages_pending", table_name="outbox_messages")
