"""Instruments describe themselves in English too (description_en, capabilities_en), as they
name themselves and their laboratory: the English pages showed the Chinese description.
Empty until a lab manager fills them in; the page falls back to the Chinese text."""
import sqlalchemy as sa
from alembic import op

revision = "0025_instrument_description_en"
down_revision = "0024_user_session_epoch"
branch_labels = None
depends_on = None


def upgrade():
    for column in ("description_en", "capabilities_en"):
        op.add_column("instruments", sa.Column(column, sa.Text(), nullable=False,
                                               server_default=""))


def downgrade():
    # in place on SQLite too (3.35+), as 0023: a batch would rebuild a table others refer to
    for column in ("description_en", "capabilities_en"):
        op.execute(f"ALTER TABLE instruments DROP COLUMN {column}")
