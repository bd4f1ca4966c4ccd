"""A project's limits and a group's PI-approval categories name instrument categories by code.

They were typed as free text, and the rules compare them with an instrument's category code:
"分析仪器" or "Analytical instruments" never matched "analytical", so the limit or the PI's
approval silently never applied. Text that names a category (its code, Chinese or English
name, any case) becomes the code; other text stays, shown as matching no category, for the PI
to remove. Two limits on the same target (the old form added a second) become the tightest
one, which is what the rules applied, and a unique index keeps it one."""
import sqlalchemy as sa
from alembic import op

from booking.core.categories import category_code

revision = "0029_category_codes"
down_revision = "0028_instrument_location_en"
branch_labels = None
depends_on = None

limits = sa.table("project_limits", sa.column("id", sa.Integer),
                  sa.column("project_id", sa.Integer), sa.column("instrument_id", sa.Integer),
                  sa.column("category", sa.String), sa.column("limit_fen", sa.BigInteger))
groups = sa.table("research_groups", sa.column("id", sa.Integer),
                  sa.column("approval_categories", sa.JSON))


def _as_code(text: str) -> str:
    return category_code(text) or text


def _codes_for_limits(connection) -> None:
    for row in connection.execute(sa.select(limits.c.id, limits.c.category)
                                  .where(limits.c.category.is_not(None))).all():
        if _as_code(row.category) != row.category:
            connection.execute(limits.update().where(limits.c.id == row.id)
                               .values(category=_as_code(row.category)))


def _tightest_limit_per_target(connection) -> None:
    kept = {}
    for row in connection.execute(sa.select(limits).order_by(limits.c.limit_fen,
                                                             limits.c.id)).all():
        target = (row.project_id, row.instrument_id, row.category)
        if target in kept:
            connection.execute(limits.delete().where(limits.c.id == row.id))
        else:
            kept[target] = row.id


def _codes_for_groups(connection) -> None:
    for row in connection.execute(sa.select(groups)).all():
        codes = list(dict.fromkeys(_as_code(c) for c in row.approval_categories or []))
        if codes != (row.approval_categories or []):
            connection.execute(groups.update().where(groups.c.id == row.id)
                               .values(approval_categories=codes))


def upgrade():
    connection = op.get_bind()
    _codes_for_limits(connection)
    _tightest_limit_per_target(connection)
    _codes_for_groups(connection)
    op.create_index("uq_project_limits_instrument", "project_limits",
                    ["project_id", "instrument_id"], unique=True)
    op.create_index("uq_project_limits_category", "project_limits",
                    ["project_id", "category"], unique=True)


def downgrade():
    op.drop_index("uq_project_limits_category", "project_limits")
    op.drop_index("uq_project_limits_instrument", "project_limits")
