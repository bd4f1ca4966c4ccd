"""In-app inbox of notices and per-user notice preferences (issue 18)."""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0014_inbox"
down_revision = "0013_check_in_window"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
