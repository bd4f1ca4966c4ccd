"""invoice_lines: kind 'fee', a test order's set-up fee and urgent surcharge (until now written
as 'samples' lines of one "sample", and shown so). Testing, like the samples: a voucher pays
its share of them.

SQLite cannot alter a CHECK: the table is recreated (batch), its partial unique indexes dropped
before and created again after with their WHERE clauses, as in 0008. Existing order fee lines
are rewritten to the new kind (they are the samples lines of an order's invoice that name no
booking and say 开机费 or 加急费). PostgreSQL swaps the CHECK in place.
"""
import sqlalchemy as sa
from alembic import op

revision = "0031_fee_lines"
down_revision = "0030_email_confirmed"
branch_labels = None
depends_on = None

OLD_KINDS = "('usage', 'no_show', 'late_cancel', 'credit', 'samples')"
NEW_KINDS = "('usage', 'no_show', 'late_cancel', 'credit', 'samples', 'fee')"
PARTIAL_INDEXES = {
    "uq_invoice_lines_usage_session": ("usage_session_id", "kind = 'usage'"),
    "uq_invoice_lines_booking_penalty": ("booking_id", "kind IN ('no_show', 'late_cancel')"),
    "uq_invoice_lines_booking_samples": ("booking_id", "kind = 'samples'"),
}
FEE_LINES = ("booking_id IS NULL AND usage_session_id IS NULL AND "
             "(description LIKE '% 开机费%' OR description LIKE '% 加急费%')")


def _line_kinds(kinds: str) -> None:
    name = op.f("ck_invoice_lines_kind")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(name, "invoice_lines", type_="check")
        op.create_check_constraint(name, "invoice_lines", f"kind IN {kinds}")
        return
    for index in PARTIAL_INDEXES:
        op.drop_index(index, table_name="invoice_lines")
    with op.batch_alter_table("invoice_lines", recreate="always") as batch_op:
        batch_op.drop_constraint(name, type_="check")
        batch_op.create_check_constraint(name, f"kind IN {kinds}")
    for index, (column, where) in PARTIAL_INDEXES.items():
        op.create_index(index, "invoice_lines", [column], unique=True,
                        sqlite_where=sa.text(where), postgresql_where=sa.text(where))


def upgrade():
    _line_kinds(NEW_KINDS)
    op.execute(f"UPDATE invoice_lines SET kind = 'fee' WHERE kind = 'samples' AND {FEE_LINES}")


def downgrade():
    op.execute("UPDATE invoice_lines SET kind = 'samples' WHERE kind = 'fee'")
    _line_kinds(OLD_KINDS)
