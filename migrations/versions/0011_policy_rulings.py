"""Policy rulings (DESIGN §6).

- A reimbursement statement records the reward it claws back: the provider reward follows net
  voucher turnover, so refunds that shrink the year's net take back reward already paid
  (never more than was paid).
- An organisation records whether it is an independent legal person: a start-up team (创业团队)
  is not incorporated yet, and classes are judged on facts, not on a missing founding date.

Plain ADD/DROP COLUMN: SQLite would otherwise recreate tables other tables point at.
"""
from alembic import op

revision = "0011_policy_rulings"
down_revision = "0010_outbox_pending"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("ALTER TABLE reimbursements ADD COLUMN clawback_fen BIGINT DEFAULT 0 NOT NULL "
               "CONSTRAINT ck_reimbursements_clawback CHECK (clawback_fen >= 0)")
    op.execute("ALTER TABLE organisations ADD COLUMN legal_person BOOLEAN DEFAULT true NOT NULL")


def downgrade():
    op.execute("ALTER TABLE organisations DROP COLUMN legal_person")
    op.execute("ALTER TABLE reimbursements DROP COLUMN clawback_fen")
