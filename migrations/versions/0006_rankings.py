"""ratings, ranking policy and snapshots (issue 7)

Revision ID: 0006_rankings
Revises: 0005_subsidies
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import booking.core.db  # noqa: F401

revision = "0006_rankings"
down_revision = "0005_subsidies"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
