"""bookings and the no-overlap constraint (issue 4)

Revision ID: 0003_bookings
Revises: 0002_catalogue
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import booking.core.db  # noqa: F401

revision = "0003_bookings"
down_revision = "0002_catalogue"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
