"""A project's limits and a group's PI-approval categories name instrument categories by code.

They were typed as free text, and the rules compare them with an instrument's category code:
"分析仪器" or "Analytical instruments" never matched "analytical", so the limit or the PI's
approval silently never applied. Text that names a category (its code, Chinese or English
name, any case) becomes the code; other text stays, shown as matching no category, for the PI
to remove. Two limits on the same target (the old form added a second) become the tightest
one, which is what the rules applied, and a unique index keeps it one.

From here on such a limit or approval category applies: bookings its project has already
held count against it, so a PI may find the next request refused or sent to them."""
import sqlalchemy as sa
from alembic import op

revision = "0029_category_codes"
down_revision = "0028_instrument_location_en"
branch_labels = None
depends_on = None

limits = sa.table("project_limits", sa.column("id", sa.Integer),
                  sa.column("project_id", sa.Integer), sa.column("instrument_id", sa.Integer),
                  sa.column("category", sa.String), sa.column("limit_fen", sa.BigInteger))
groups = sa.table("research_groups", sa.column("id", sa.Integer),
                  sa.column("approval_categories", sa.JSON))


# the categories as they stood when this ran (booking.core.categories may change later)
CATEGORIES = {
    "analytical": ("分析仪器", "Analytical instruments"),
    "physical_testing": ("物理性能测试仪器", "Physical property testing"),
    "electronic_measurement": ("电子测量仪器", "Electronic measurement"),
    "metrology": ("计量仪器", "Metrology instruments"),
    "medical_research": ("医学科研仪器", "Medical research instruments"),
    "special_testing": ("特种检测仪器", "Special testing instruments"),
    "earth_exploration": ("地球探测仪器", "Earth exploration instruments"),
    "atmospheric": ("大气探测仪器", "Atmospheric sounding instruments"),
    "marine": ("海洋仪器", "Marine instruments"),
    "astronomical": ("天文仪器", "Astronomical instruments"),
    "laser": ("激光器", "Lasers"),
    "nuclear": ("核仪器", "Nuclear instruments"),
    "process_experiment": ("工艺试验仪器", "Process and experiment equipment"),
    "computing": ("计算机及其配套设备", "Computers and peripherals"),
    "other": ("其他仪器", "Other instruments"),
}


def _as_code(text: str) -> str:
    wanted = text.strip().casefold()
    return next((code for code, names in CATEGORIES.items()
                 if wanted in (code, names[0].casefold(), names[1].casefold())), text)


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
