"""Red flags the bureau raises on an institution for a ranking period (false_data): the unit is
graded poor and ranked last until the flag is cleared. Raising and clearing are audited."""
import sqlalchemy as sa
from alembic import op

from booking.core.db import UTCDateTime

revision = "0012_ranking_flags"
down_revision = "0011_policy_rulings"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "ranking_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=6), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("raised_by_id", sa.Integer(), nullable=True),
        sa.Column("cleared_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("cleared_by_id", sa.Integer(), nullable=True),
        sa.Column("clear_reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('false_data')", name=op.f("ck_ranking_flags_kind")),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"],
                                name=op.f("fk_ranking_flags_org_id_organisations")),
        sa.ForeignKeyConstraint(["raised_by_id"], ["users.id"],
                                name=op.f("fk_ranking_flags_raised_by_id_users")),
        sa.ForeignKeyConstraint(["cleared_by_id"], ["users.id"],
                                name=op.f("fk_ranking_flags_cleared_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ranking_flags")),
    )
    op.create_index(op.f("ix_ranking_flags_period"), "ranking_flags", ["period"])


def downgrade():
    op.drop_index(op.f("ix_ranking_flags_period"), table_name="ranking_flags")
    op.drop_table("ranking_flags")
