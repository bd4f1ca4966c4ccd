"""Drop the outbox's indexes nothing reads by.

Every booking queues a message, and every message is written twice (queued, then marked sent):
the indexes on kind, recipient and sent_at cost three page writes each time, inside the
database's write lock on SQLite, and no query uses them (send_pending reads the partial index
of unsent messages, ix_outbox_messages_pending).
"""
from alembic import op

revision = "0021_outbox_lean_indexes"
down_revision = "0020_groups"
branch_labels = None
depends_on = None

DROPPED = {"ix_outbox_messages_kind": "kind", "ix_outbox_messages_recipient": "recipient",
           "ix_outbox_messages_sent_at": "sent_at"}


def upgrade():
    for name in DROPPED:
        op.drop_index(name, table_name="outbox_messages")


def downgrade():
    for name, column in DROPPED.items():
        op.create_index(name, "outbox_messages", [column])
