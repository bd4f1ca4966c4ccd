"""How early a booking can be checked in: the instrument's check-in window, in minutes before
the booked start (the kiosk and the API check in only a booking due now).
Plain ADD/DROP COLUMN: SQLite would otherwise recreate a table other tables point at.
"""
from alembic import op

revision = "0013_check_in_window"
down_revision = "0012_ranking_flags"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("ALTER TABLE instruments ADD COLUMN check_in_early_minutes INTEGER DEFAULT 15 "
               "NOT NULL")


def downgrade():
    op.execute("ALTER TABLE instruments DROP COLUMN check_in_early_minutes")
