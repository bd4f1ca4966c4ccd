"""Policy rulings (DESIGN §6).

- A reimbursement statement records the reward it claws back: the provider reward follows net
  voucher turnover, so refunds that shrink the year's net take back reward already paid
  (never more than was paid).
- An organisation records whether it is an independent legal person: a start-up team (创业团队)
  is not incorporated yet, and classes are judged on facts, not on a missing founding date.
- A redemption drawn for re-checking records the outcome of the check (confirmed, or clawed
  back) and when it was checked.

Plain ADD/DROP COLUMN: SQLite would otherwise recreate tables other tables point at.
"""
import sqlalchemy as sa
from alembic import op

from booking.core.db import UTCDateTime

revision = "0011_policy_rulings"
down_revision = "0010_outbox_pending"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("ALTER TABLE reimbursements ADD COLUMN clawback_fen BIGINT DEFAULT 0 NOT NULL "
               "CONSTRAINT ck_reimbursements_clawback CHECK (clawback_fen >= 0)")
    op.execute("ALTER TABLE organisations ADD COLUMN legal_person BOOLEAN DEFAULT true NOT NULL")
    op.add_column("redemptions", sa.Column("checked_at", UTCDateTime(timezone=True)))
    op.execute("ALTER TABLE redemptions ADD COLUMN check_outcome VARCHAR(12) CONSTRAINT "
               "ck_redemptions_check_outcome CHECK (check_outcome IN ('confirmed', "
               "'clawed_back'))")


def downgrade():
    op.execute("ALTER TABLE redemptions DROP COLUMN check_outcome")
    op.execute("ALTER TABLE redemptions DROP COLUMN checked_at")
    op.execute("ALTER TABLE organisations DROP COLUMN legal_person")
    op.execute("ALTER TABLE reimbursements DROP COLUMN clawback_fen")
