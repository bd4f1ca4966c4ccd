"""payments: method 'refund', an overpayment paid back to the customer. It is recorded as a
negative payment on the invoice that was overpaid, so that every sum of an invoice's payments
(what is paid, what is carried as the customer's balance) nets it out.

SQLite cannot alter a CHECK: the table is recreated (batch). PostgreSQL swaps it in place.
"""
from alembic import op

revision = "0039_overpayment_refunds"
down_revision = "0038_user_invitations"
branch_labels = None
depends_on = None

OLD = ("('stripe', 'bank_transfer', 'internal', 'credit_note')", "amount_fen > 0")
NEW = ("('stripe', 'bank_transfer', 'internal', 'credit_note', 'refund')",
       "(method = 'refund' AND amount_fen < 0) OR (method <> 'refund' AND amount_fen > 0)")


def _checks(methods: str, amount: str) -> None:
    checks = {op.f("ck_payments_method"): f"method IN {methods}",
              op.f("ck_payments_amount"): amount}
    if op.get_bind().dialect.name != "sqlite":
        for name, condition in checks.items():
            op.drop_constraint(name, "payments", type_="check")
            op.create_check_constraint(name, "payments", condition)
        return
    with op.batch_alter_table("payments", recreate="always") as batch_op:
        for name, condition in checks.items():
            batch_op.drop_constraint(name, type_="check")
            batch_op.create_check_constraint(name, condition)


def upgrade():
    _checks(*NEW)


def downgrade():
    op.execute("DELETE FROM payments WHERE method = 'refund'")  # the balances carried again
    _checks(*OLD)
