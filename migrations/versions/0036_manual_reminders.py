"""dunning_notices: reminders the finance office sends from its overdue list (stage 'manual',
`sent_by_id`), as many as it sends: the daily job's stay one per invoice and stage, now a
partial unique index instead of the unique constraint.

SQLite cannot alter a CHECK or drop a constraint: the table is recreated (batch). PostgreSQL
changes them in place.
"""
import sqlalchemy as sa
from alembic import op

revision = "0036_manual_reminders"
down_revision = "0035_credit_note_deductions"
branch_labels = None
depends_on = None

OLD_STAGES = "('due', 'd14', 'd30')"
NEW_STAGES = "('due', 'd14', 'd30', 'manual')"
AUTOMATIC = "stage <> 'manual'"


def upgrade():
    with op.batch_alter_table("dunning_notices") as batch_op:
        batch_op.drop_constraint(op.f("uq_dunning_notices_invoice_id"), type_="unique")
        batch_op.drop_constraint(op.f("ck_dunning_notices_stage"), type_="check")
        batch_op.create_check_constraint(op.f("ck_dunning_notices_stage"),
                                         f"stage IN {NEW_STAGES}")
        batch_op.add_column(sa.Column("sent_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f("fk_dunning_notices_sent_by_id_users"), "users",
                                    ["sent_by_id"], ["id"], ondelete="SET NULL")
    op.create_index("uq_dunning_notices_stage", "dunning_notices", ["invoice_id", "stage"],
                    unique=True, sqlite_where=sa.text(AUTOMATIC),
                    postgresql_where=sa.text(AUTOMATIC))


def downgrade():
    op.drop_index("uq_dunning_notices_stage", table_name="dunning_notices")
    op.execute("DELETE FROM dunning_notices WHERE stage = 'manual'")
    with op.batch_alter_table("dunning_notices") as batch_op:
        batch_op.drop_constraint(op.f("fk_dunning_notices_sent_by_id_users"), type_="foreignkey")
        batch_op.drop_column("sent_by_id")
        batch_op.drop_constraint(op.f("ck_dunning_notices_stage"), type_="check")
        batch_op.create_check_constraint(op.f("ck_dunning_notices_stage"),
                                         f"stage IN {OLD_STAGES}")
        batch_op.create_unique_constraint(op.f("uq_dunning_notices_invoice_id"),
                                          ["invoice_id", "stage"])
