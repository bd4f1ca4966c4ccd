"""Wait lists for taken slots and their offers (issue 18)."""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0016_waitlist"
down_revision = "0015_booking_series"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
