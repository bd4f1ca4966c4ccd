"""Outbox messages are claimed by a sending round, and keep only the index that is read.

A round claims its batch (claimed_until) in one short transaction, sends with no transaction
open, then marks what went out: on SQLite it no longer holds the database's write lock while it
talks to the SMTP server, which stalled every booking meanwhile.

Every booking queues a message and every message is written twice (queued, then marked sent):
the indexes on kind, recipient and sent_at cost three page writes each time, and no query uses
them (send_pending reads the partial index of unsent messages, ix_outbox_messages_pending).
"""
import sqlalchemy as sa
from alembic import op

from booking.core.db import UTCDateTime

revision = "0021_outbox_claims"
down_revision = "0020_groups"
branch_labels = None
depends_on = None

DROPPED = {"ix_outbox_messages_kind": "kind", "ix_outbox_messages_recipient": "recipient",
           "ix_outbox_messages_sent_at": "sent_at"}


def upgrade():
    for name in DROPPED:
        op.drop_index(name, table_name="outbox_messages")
    with op.batch_alter_table("outbox_messages") as batch_op:
        batch_op.add_column(sa.Column("claimed_until", UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("outbox_messages") as batch_op:
        batch_op.drop_column("claimed_until")
    for name, column in DROPPED.items():
        op.create_index(name, "outbox_messages", [column])
