"""Users carry a session epoch that logging out raises: the session is a signed cookie, and a
copy kept after logging out went on working until it expired."""
import sqlalchemy as sa
from alembic import op

revision = "0024_user_session_epoch"
down_revision = "0023_instrument_lab_en"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("users", sa.Column("session_epoch", sa.Integer(), nullable=False,
                                     server_default="0"))


def downgrade():
    # in place on SQLite too (3.35+), as 0023: a batch would rebuild a table others refer to
    op.execute("ALTER TABLE users DROP COLUMN session_epoch")
