"""Real deployment (issue 16): organisations of every kind a bureau onboards (pilot bases and
incubators too) that the console can deactivate, and instruments carrying their asset number
(the key of a spreadsheet re-import) and their national classification code."""
import sqlalchemy as sa
from alembic import op

from booking.core.db import UTCDateTime

revision = "0017_deployment"
down_revision = "0016_waitlist"
branch_labels = None
depends_on = None

OLD_KINDS = "('university', 'institute', 'enterprise', 'bureau')"
NEW_KINDS = "('university', 'institute', 'enterprise', 'bureau', 'pilot_base', 'incubator')"


def _organisation_kinds(old: str, new: str) -> None:
    """Replace the CHECK on organisations.kind. On SQLite the table cannot be rebuilt (a dozen
    tables reference it and foreign keys are on), so the CHECK text is rewritten in place: the
    SQLite documentation's procedure for changing a CHECK constraint (no data moves)."""
    name = op.f("ck_organisations_kind")
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.drop_constraint(name, "organisations", type_="check")
        op.create_check_constraint(name, "organisations", f"kind IN {new}")
        return
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    bind.exec_driver_sql("PRAGMA writable_schema=ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE type = 'table' "
        "AND name = 'organisations'", (f"kind IN {old}", f"kind IN {new}"))
    bind.exec_driver_sql(f"PRAGMA schema_version={int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema=OFF")


def upgrade():
    # Plain ADD COLUMN: SQLite would otherwise recreate tables that other tables point at.
    _organisation_kinds(OLD_KINDS, NEW_KINDS)
    op.add_column("organisations", sa.Column("active", sa.Boolean(), server_default=sa.true(),
                                             nullable=False))
    op.add_column("organisations", sa.Column("deactivated_at", UTCDateTime(timezone=True),
                                             nullable=True))
    op.add_column("instruments", sa.Column("asset_number", sa.String(length=64), nullable=True))
    op.add_column("instruments", sa.Column("national_class", sa.String(length=8), nullable=True))
    op.create_index(op.f("ix_instruments_national_class"), "instruments", ["national_class"])
    op.create_index("uq_instruments_organisation_asset", "instruments",
                    ["organisation_id", "asset_number"], unique=True)


def downgrade():
    op.drop_index("uq_instruments_organisation_asset", table_name="instruments")
    op.drop_index(op.f("ix_instruments_national_class"), table_name="instruments")
    for table, column in (("instruments", "national_class"), ("instruments", "asset_number"),
                          ("organisations", "deactivated_at"), ("organisations", "active")):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    op.execute("DELETE FROM organisations WHERE kind IN ('pilot_base', 'incubator')")
    _organisation_kinds(NEW_KINDS, OLD_KINDS)
