"""project_digests: each PI's monthly digest of their projects' money, once per PI and month.
"""
import sqlalchemy as sa
from alembic import op

from booking.core.db import UTCDateTime

revision = "0037_project_digests"
down_revision = "0036_manual_reminders"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "project_digests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pi_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("projects", sa.Integer(), nullable=False),
        sa.Column("sent_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["pi_id"], ["users.id"], name=op.f("fk_project_digests_pi_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_digests")),
        sa.UniqueConstraint("pi_id", "month", name=op.f("uq_project_digests_pi_id")),
    )


def downgrade():
    op.drop_table("project_digests")
