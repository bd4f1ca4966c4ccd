"""payments: method 'credit_note', a credit note deducted from its invoice while that is still
open (until now the customer was asked to pay the invoice in full and wait for the refund).
Credit notes already waiting for their refund while their invoice is still open are deducted
now, as they would have been: a payment of this kind on each, naming the other, and each
document paid once its payments cover it. So are those given back to the project account an
open invoice was charged to at issue (its internal transfer then asks that much less). Notes
refunded, or on invoices paid, are left alone.

SQLite cannot alter a CHECK: the table is recreated (batch). PostgreSQL swaps it in place.
"""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "0035_credit_note_deductions"
down_revision = "0034_pi_calendar_bump"
branch_labels = None
depends_on = None

OLD_METHODS = "('stripe', 'bank_transfer', 'internal')"
NEW_METHODS = "('stripe', 'bank_transfer', 'internal', 'credit_note')"

_PENDING = sa.text(
    "SELECT n.id, n.number, n.amount_due_fen, i.id, i.number, i.amount_due_fen, "
    "(SELECT COALESCE(SUM(amount_fen), 0) FROM payments WHERE invoice_id = i.id) "
    "FROM invoices n JOIN invoices i ON i.id = n.credits_id "
    "WHERE n.kind = 'credit_note' AND i.state = 'issued' AND i.kind = 'invoice' AND "
    "((n.state = 'issued' AND n.project_id IS NULL) OR "
    " (n.state = 'paid' AND i.project_id IS NOT NULL AND n.project_id = i.project_id)) "
    "ORDER BY n.id")
_NOW = sa.bindparam("now", type_=sa.DateTime(timezone=True))
_PAY = sa.text("INSERT INTO payments (invoice_id, method, amount_fen, reference, received_on, "
               "created_at) VALUES (:invoice_id, 'credit_note', :amount, :reference, :today, "
               ":now)").bindparams(_NOW, sa.bindparam("today", type_=sa.Date()))
_SETTLE = sa.text("UPDATE invoices SET state = 'paid', paid_at = :now WHERE id = :id "
                  "AND state = 'issued'").bindparams(_NOW)


def _methods(methods: str) -> None:
    name = op.f("ck_payments_method")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(name, "payments", type_="check")
        op.create_check_constraint(name, "payments", f"method IN {methods}")
        return
    with op.batch_alter_table("payments", recreate="always") as batch_op:
        batch_op.drop_constraint(name, type_="check")
        batch_op.create_check_constraint(name, f"method IN {methods}")


def _deduct_waiting_notes() -> None:
    bind = op.get_bind()
    now = datetime.now(timezone.utc)
    today = now.astimezone(ZoneInfo("Asia/Shanghai")).date()  # the platform's own day
    if bind.dialect.name == "sqlite":  # naive UTC text there (booking.core.db.UTCDateTime)
        now = now.replace(tzinfo=None)
    paid: dict[int, int] = {}  # what each invoice's payments cover so far in this run
    for note_id, note_number, credit, invoice_id, number, due, paid_fen in bind.execute(
            _PENDING).all():
        covered = paid.setdefault(invoice_id, int(paid_fen))
        amount = min(int(credit), int(due) - covered)
        if amount <= 0:
            continue
        for document, other in ((invoice_id, note_number), (note_id, number)):
            bind.execute(_PAY, {"invoice_id": document, "amount": amount,
                                "reference": other or "", "today": today, "now": now})
        paid[invoice_id] = covered + amount
        if amount == credit:
            bind.execute(_SETTLE, {"now": now, "id": note_id})
        if paid[invoice_id] >= due:
            bind.execute(_SETTLE, {"now": now, "id": invoice_id})


def upgrade():
    _methods(NEW_METHODS)
    _deduct_waiting_notes()


def downgrade():
    # documents the deductions settled are open again unless other payments cover them (or,
    # a note, it went back to a project account)
    op.execute("UPDATE invoices SET state = 'issued', paid_at = NULL WHERE id IN "
               "(SELECT invoice_id FROM payments WHERE method = 'credit_note') AND "
               "NOT (kind = 'credit_note' AND project_id IS NOT NULL) AND "
               "amount_due_fen > (SELECT COALESCE(SUM(p.amount_fen), 0) FROM payments p "
               "WHERE p.invoice_id = invoices.id AND p.method <> 'credit_note')")
    op.execute("DELETE FROM payments WHERE method = 'credit_note'")
    _methods(OLD_METHODS)
