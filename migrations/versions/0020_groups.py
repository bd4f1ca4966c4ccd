"""Research groups and project accounts (issue 19): groups (课题组) with a PI and members,
project accounts (经费卡) with budgets, limits and a ledger, the PI's approvals of members'
requests; the project a booking, an invoice and an internal settlement are charged to; a
payment's date; dunning reminders; providers' finance settings (bank details, tax number,
the overdue block).

Plain ALTER TABLE ADD/DROP COLUMN on bookings, invoices and payments: SQLite would otherwise
recreate tables others point at (and lose the bookings' no-overlap triggers); indexes go
first on the way down (SQLite drops no indexed column).
"""
import sqlalchemy as sa
from alembic import op

from booking.core.db import UTCDateTime

revision = "0020_groups"
down_revision = "0019_orders"
branch_labels = None
depends_on = None

APPROVAL_MODES = ("none", "always", "above_fee", "categories")
MEMBER_STATES = ("invited", "requested", "active")
OVER_BUDGET = ("refuse", "pi")
PI_STATES = ("pending", "approved", "rejected", "expired")
ENTRY_KINDS = ("hold", "charge", "credit")
DUNNING_STAGES = ("due", "d14", "d30")


def _fk(table, column, target):
    return sa.ForeignKeyConstraint([column], [f"{target}.id"],
                                   name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade():
    op.create_table(
        "research_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("pi_id", sa.Integer(), nullable=False),
        sa.Column("approval_mode", sa.String(length=16), nullable=False),
        sa.Column("approval_threshold_fen", sa.BigInteger(), nullable=False),
        sa.Column("approval_categories", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"approval_mode IN {APPROVAL_MODES!r}",
                           name=op.f("ck_research_groups_approval_mode")),
        sa.CheckConstraint("approval_threshold_fen >= 0",
                           name=op.f("ck_research_groups_threshold")),
        _fk("research_groups", "organisation_id", "organisations"),
        _fk("research_groups", "pi_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_research_groups")),
    )
    op.create_index(op.f("ix_research_groups_organisation_id"), "research_groups",
                    ["organisation_id"])
    op.create_index(op.f("ix_research_groups_pi_id"), "research_groups", ["pi_id"])
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("funder", sa.String(length=200), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("budget_fen", sa.BigInteger(), nullable=False),
        sa.Column("over_budget", sa.String(length=8), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"over_budget IN {OVER_BUDGET!r}",
                           name=op.f("ck_projects_over_budget")),
        sa.CheckConstraint("budget_fen >= 0", name=op.f("ck_projects_budget")),
        sa.CheckConstraint("valid_from <= valid_until", name=op.f("ck_projects_validity")),
        _fk("projects", "group_id", "research_groups"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint("group_id", "number", name=op.f("uq_projects_group_id")),
    )
    op.create_index(op.f("ix_projects_group_id"), "projects", ["group_id"])
    op.create_table(
        "group_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("default_project_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"state IN {MEMBER_STATES!r}", name=op.f("ck_group_members_state")),
        sa.ForeignKeyConstraint(["group_id"], ["research_groups.id"], ondelete="CASCADE",
                                name=op.f("fk_group_members_group_id_research_groups")),
        _fk("group_members", "user_id", "users"),
        _fk("group_members", "default_project_id", "projects"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_members")),
        sa.UniqueConstraint("group_id", "user_id", name=op.f("uq_group_members_group_id")),
    )
    op.create_index(op.f("ix_group_members_user_id"), "group_members", ["user_id"])
    op.create_table(
        "project_limits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("instrument_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("limit_fen", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("(instrument_id IS NULL) <> (category IS NULL)",
                           name=op.f("ck_project_limits_one_target")),
        sa.CheckConstraint("limit_fen >= 0", name=op.f("ck_project_limits_limit")),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE",
                                name=op.f("fk_project_limits_project_id_projects")),
        _fk("project_limits", "instrument_id", "instruments"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_limits")),
    )
    op.create_index(op.f("ix_project_limits_project_id"), "project_limits", ["project_id"])
    op.create_table(
        "project_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column("instrument_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("released_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"kind IN {ENTRY_KINDS!r}", name=op.f("ck_project_entries_kind")),
        sa.CheckConstraint("amount_fen >= 0", name=op.f("ck_project_entries_amount")),
        _fk("project_entries", "project_id", "projects"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_entries")),
    )
    op.create_index("ix_project_entries_project_kind", "project_entries", ["project_id", "kind"])
    op.create_index("ix_project_entries_booking", "project_entries", ["booking_id"])
    op.create_index("ix_project_entries_invoice", "project_entries", ["invoice_id"])
    op.create_table(
        "pi_approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("pi_id", sa.Integer(), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("fee_fen", sa.BigInteger(), nullable=False),
        sa.Column("over_budget", sa.Boolean(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("decided_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"state IN {PI_STATES!r}", name=op.f("ck_pi_approvals_state")),
        _fk("pi_approvals", "group_id", "research_groups"),
        _fk("pi_approvals", "project_id", "projects"),
        _fk("pi_approvals", "pi_id", "users"),
        _fk("pi_approvals", "requester_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pi_approvals")),
        sa.UniqueConstraint("booking_id", name=op.f("uq_pi_approvals_booking_id")),
    )
    op.create_index(op.f("ix_pi_approvals_group_id"), "pi_approvals", ["group_id"])
    op.create_index(op.f("ix_pi_approvals_pi_id"), "pi_approvals", ["pi_id"])
    op.create_table(
        "dunning_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=8), nullable=False),
        sa.Column("sent_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"stage IN {DUNNING_STAGES!r}", name=op.f("ck_dunning_notices_stage")),
        _fk("dunning_notices", "invoice_id", "invoices"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dunning_notices")),
        sa.UniqueConstraint("invoice_id", "stage", name=op.f("uq_dunning_notices_invoice_id")),
    )
    op.create_table(
        "provider_settings",
        sa.Column("provider_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("bank_name", sa.String(length=200), nullable=False),
        sa.Column("bank_account", sa.String(length=64), nullable=False),
        sa.Column("tax_number", sa.String(length=32), nullable=False),
        sa.Column("block_overdue_days", sa.Integer(), nullable=True),
        sa.CheckConstraint("block_overdue_days IS NULL OR block_overdue_days BETWEEN 1 AND 365",
                           name=op.f("ck_provider_settings_block_days")),
        _fk("provider_settings", "provider_id", "organisations"),
        sa.PrimaryKeyConstraint("provider_id", name=op.f("pk_provider_settings")),
    )
    for table in ("bookings", "invoices", "payments"):
        op.execute(f"ALTER TABLE {table} ADD COLUMN project_id INTEGER CONSTRAINT "
                   f"fk_{table}_project_id_projects REFERENCES projects (id)")
    op.create_index(op.f("ix_bookings_project_id"), "bookings", ["project_id"])
    op.create_index(op.f("ix_invoices_project_id"), "invoices", ["project_id"])
    op.add_column("payments", sa.Column("received_on", sa.Date(), nullable=True))


def downgrade():
    op.execute("ALTER TABLE payments DROP COLUMN received_on")
    op.drop_index(op.f("ix_invoices_project_id"), table_name="invoices")
    op.drop_index(op.f("ix_bookings_project_id"), table_name="bookings")
    for table in ("invoices", "bookings"):
        op.execute(f"ALTER TABLE {table} DROP COLUMN project_id")
    # rebuilt on SQLite: 0035 rebuilt the table, making the column's key a table constraint,
    # which SQLite's DROP COLUMN refuses
    with op.batch_alter_table("payments") as batch_op:
        batch_op.drop_column("project_id")
    op.drop_table("provider_settings")
    op.drop_table("dunning_notices")
    op.drop_index(op.f("ix_pi_approvals_pi_id"), table_name="pi_approvals")
    op.drop_index(op.f("ix_pi_approvals_group_id"), table_name="pi_approvals")
    op.drop_table("pi_approvals")
    op.drop_index("ix_project_entries_invoice", table_name="project_entries")
    op.drop_index("ix_project_entries_booking", table_name="project_entries")
    op.drop_index("ix_project_entries_project_kind", table_name="project_entries")
    op.drop_table("project_entries")
    op.drop_index(op.f("ix_project_limits_project_id"), table_name="project_limits")
    op.drop_table("project_limits")
    op.drop_index(op.f("ix_group_members_user_id"), table_name="group_members")
    op.drop_table("group_members")
    op.drop_index(op.f("ix_projects_group_id"), table_name="projects")
    op.drop_table("projects")
    op.drop_index(op.f("ix_research_groups_pi_id"), table_name="research_groups")
    op.drop_index(op.f("ix_research_groups_organisation_id"), table_name="research_groups")
    op.drop_table("research_groups")
