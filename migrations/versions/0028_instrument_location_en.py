"""Instruments give their location in English too (location_en), as their name, laboratory
and description: English pages, kiosks and reminders showed the Chinese room. Empty until a
lab manager fills it in; the pages fall back to the Chinese one."""
import sqlalchemy as sa
from alembic import op

revision = "0028_instrument_location_en"
down_revision = "0027_booking_cancelled_by"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("instruments", sa.Column("location_en", sa.String(200), nullable=False,
                                           server_default=""))


def downgrade():
    # in place on SQLite too (3.35+), as 0023: a batch would rebuild a table others refer to
    op.execute("ALTER TABLE instruments DROP COLUMN location_en")
