"""catalogue search index and constraints (issue 3)

Revision ID: 0002_catalogue
Revises: 0001_initial
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import booking.core.db  # noqa: F401

revision = "0002_catalogue"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
