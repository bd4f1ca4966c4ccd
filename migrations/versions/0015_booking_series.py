"""Recurring booking series (issue 18)."""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0015_booking_series"
down_revision = "0014_inbox"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
