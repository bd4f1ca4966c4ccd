"""reimbursements.payment_reference: the bureau's record of the transfer that paid a
statement (the treasury's payment voucher or bank reference), asked for when it is marked
paid, so the provider's finance office can match the money it received to the statement.

Statements paid before keep an empty reference. One ADD COLUMN on both databases.
"""
from alembic import op

revision = "0033_reimbursement_reference"
down_revision = "0032_order_release"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("ALTER TABLE reimbursements ADD COLUMN payment_reference VARCHAR(64) "
               "DEFAULT '' NOT NULL")


def downgrade():
    op.execute("ALTER TABLE reimbursements DROP COLUMN payment_reference")
