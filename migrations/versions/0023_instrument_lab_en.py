"""Instruments name their laboratory in English too (lab_en), as they do their own name: the
English pages showed the Chinese laboratory name. Empty until a lab manager fills it in."""
import sqlalchemy as sa
from alembic import op

revision = "0023_instrument_lab_en"
down_revision = "0022_usage_customer"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("instruments", sa.Column("lab_en", sa.String(200), nullable=False,
                                           server_default=""))


def downgrade():
    # in place on SQLite too (3.35+): a batch would rebuild the table, which the bookings and
    # the other tables that refer to it do not allow
    op.execute("ALTER TABLE instruments DROP COLUMN lab_en")
