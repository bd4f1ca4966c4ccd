"""users.invited_at: when an administrator invited the account, or a lab registered it at its
desk (its holder chooses the password by an e-mailed link). An invited account that has never
signed in awaits its invitation, and does not count as an administrator who can still
administer; an account made with a password (the command line) does neither. Filled from the
audit trail.
"""
import sqlalchemy as sa
from alembic import op

from booking.core.db import UTCDateTime

revision = "0038_user_invitations"
down_revision = "0037_project_digests"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("users", sa.Column("invited_at", UTCDateTime(timezone=True), nullable=True))
    # invited by an admin, or registered by a lab at its desk: made by someone else
    op.execute("UPDATE users SET invited_at = (SELECT min(a.created_at) FROM audit_events a "
               "WHERE a.object_type = 'User' AND a.object_id = users.id AND "
               "(a.action = 'user.invited' OR (a.action = 'user.created' "
               "AND a.actor_id IS NOT NULL AND a.actor_id <> users.id)))")


def downgrade():
    # in place on SQLite too (3.35+), as 0030: a batch would rebuild a table others refer to
    op.execute("ALTER TABLE users DROP COLUMN invited_at")
