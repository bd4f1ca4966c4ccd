"""Users confirm their e-mail address (email_confirmed_at): an account registered on the site
books and applies for vouchers once its owner followed the link sent to it. Accounts that
exist already count as confirmed from their creation (they were made, invited or used before
the check); accounts made by staff, by a campus sign-on or by an invitation are confirmed."""
import sqlalchemy as sa
from alembic import op

from booking.core.db import UTCDateTime

revision = "0030_email_confirmed"
down_revision = "0029_category_codes"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("users", sa.Column("email_confirmed_at", UTCDateTime(timezone=True), nullable=True))
    op.execute("UPDATE users SET email_confirmed_at = created_at")


def downgrade():
    # in place on SQLite too (3.35+), as 0023: a batch would rebuild a table others refer to
    op.execute("ALTER TABLE users DROP COLUMN email_confirmed_at")
