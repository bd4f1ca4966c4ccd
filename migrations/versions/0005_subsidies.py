"""voucher policy, vouchers, redemptions, reimbursements (issue 6)

Revision ID: 0005_subsidies
Revises: 0004_billing
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import booking.core.db  # noqa: F401

revision = "0005_subsidies"
down_revision = "0004_billing"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
