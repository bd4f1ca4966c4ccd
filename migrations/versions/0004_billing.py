"""usage sessions, invoices and payments (issue 5)

Revision ID: 0004_billing
Revises: 0003_bookings
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import booking.core.db  # noqa: F401

revision = "0004_billing"
down_revision = "0003_bookings"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
