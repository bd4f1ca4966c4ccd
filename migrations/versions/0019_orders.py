"""Sample-submission orders (送样委托单, issue 20): orders and their samples, the events of
each order (state, time, actor), the staff-operated bookings an order runs on, its files
(report, data, photos) and each instrument's order settings; and bookings.billed_separately:
the time of a booking an order runs on is paid by the order's invoice, so billing's own
invoicing (check-out, month close, no-shows) leaves it alone. A plain ALTER TABLE, so that
SQLite keeps the bookings table's triggers."""
import sqlalchemy as sa
from alembic import op

from booking.core.db import UTCDateTime

revision = "0019_orders"
down_revision = "0018_identity"
branch_labels = None
depends_on = None

STATES = ("submitted", "accepted", "declined", "cancelled", "received", "testing",
          "report_ready", "closed")
SAMPLE_STATES = ("solid", "powder", "liquid", "film")
LEFTOVERS = ("return", "dispose")
RELEASES = ("issued", "paid")
FILE_KINDS = ("report", "data", "photo")


def upgrade():
    op.create_table(
        "order_settings",
        sa.Column("instrument_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("urgent_surcharge_percent", sa.Integer(), nullable=False),
        sa.Column("release_on", sa.String(length=8), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("urgent_surcharge_percent >= 0 AND urgent_surcharge_percent <= 200",
                           name=op.f("ck_order_settings_surcharge")),
        sa.CheckConstraint(f"release_on IN {RELEASES!r}", name=op.f("ck_order_settings_release_on")),
        sa.ForeignKeyConstraint(["instrument_id"], ["instruments.id"], ondelete="CASCADE",
                                name=op.f("fk_order_settings_instrument_id_instruments")),
        sa.PrimaryKeyConstraint("instrument_id", name=op.f("pk_order_settings")),
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=True),
        sa.Column("instrument_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("customer_user_id", sa.Integer(), nullable=False),
        sa.Column("customer_org_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("tests", sa.JSON(), nullable=False),
        sa.Column("leftovers", sa.String(length=8), nullable=False),
        sa.Column("desired_date", sa.Date(), nullable=True),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("hazards_acknowledged", sa.Boolean(), nullable=False),
        sa.Column("terms_signed_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("customer_class", sa.String(length=16), nullable=False),
        sa.Column("per_sample_fen", sa.BigInteger(), nullable=False),
        sa.Column("setup_fee_fen", sa.BigInteger(), nullable=False),
        sa.Column("surcharge_fen", sa.BigInteger(), nullable=False),
        sa.Column("fee_fen", sa.BigInteger(), nullable=False),
        sa.Column("voucher_fen", sa.BigInteger(), nullable=False),
        sa.Column("decline_reason", sa.String(length=500), nullable=False),
        sa.Column("received_condition", sa.String(length=500), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=True),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column("report_number", sa.String(length=40), nullable=True),
        sa.Column("report_issued_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("received_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"state IN {STATES!r}", name=op.f("ck_orders_state")),
        sa.CheckConstraint(f"leftovers IN {LEFTOVERS!r}", name=op.f("ck_orders_leftovers")),
        sa.CheckConstraint(f"outcome IS NULL OR outcome IN {LEFTOVERS!r}",
                           name=op.f("ck_orders_outcome")),
        sa.CheckConstraint("per_sample_fen >= 0 AND setup_fee_fen >= 0 AND surcharge_fen >= 0 "
                           "AND fee_fen >= 0 AND voucher_fen >= 0 AND voucher_fen <= fee_fen",
                           name=op.f("ck_orders_amounts")),
        sa.ForeignKeyConstraint(["instrument_id"], ["instruments.id"],
                                name=op.f("fk_orders_instrument_id_instruments")),
        sa.ForeignKeyConstraint(["provider_id"], ["organisations.id"],
                                name=op.f("fk_orders_provider_id_organisations")),
        sa.ForeignKeyConstraint(["customer_user_id"], ["users.id"],
                                name=op.f("fk_orders_customer_user_id_users")),
        sa.ForeignKeyConstraint(["customer_org_id"], ["organisations.id"],
                                name=op.f("fk_orders_customer_org_id_organisations")),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"],
                                name=op.f("fk_orders_invoice_id_invoices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
    )
    op.create_index("ix_orders_provider_state", "orders", ["provider_id", "state"])
    op.create_index("uq_orders_number", "orders", ["number"], unique=True)
    op.create_index("uq_orders_report_number", "orders", ["report_number"], unique=True)
    op.create_index(op.f("ix_orders_instrument_id"), "orders", ["instrument_id"])
    op.create_index(op.f("ix_orders_customer_user_id"), "orders", ["customer_user_id"])
    op.create_index(op.f("ix_orders_customer_org_id"), "orders", ["customer_org_id"])
    op.create_table(
        "order_samples",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("composition", sa.String(length=500), nullable=False),
        sa.Column("hazards", sa.JSON(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=True),
        sa.Column("condition", sa.String(length=500), nullable=False),
        sa.CheckConstraint(f"state IN {SAMPLE_STATES!r}", name=op.f("ck_order_samples_state")),
        sa.CheckConstraint("count >= 1 AND count <= 100", name=op.f("ck_order_samples_count")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], ondelete="CASCADE",
                                name=op.f("fk_order_samples_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_samples")),
    )
    op.create_index(op.f("ix_order_samples_order_id"), "order_samples", ["order_id"])
    op.create_index("uq_order_samples_code", "order_samples", ["code"], unique=True)
    op.create_table(
        "order_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.CheckConstraint(f"state IN {STATES!r}", name=op.f("ck_order_events_state")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], ondelete="CASCADE",
                                name=op.f("fk_order_events_order_id_orders")),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"],
                                name=op.f("fk_order_events_actor_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_events")),
    )
    op.create_index(op.f("ix_order_events_order_id"), "order_events", ["order_id"])
    op.create_table(
        "order_bookings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], ondelete="CASCADE",
                                name=op.f("fk_order_bookings_order_id_orders")),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"],
                                name=op.f("fk_order_bookings_booking_id_bookings")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_bookings")),
        sa.UniqueConstraint("booking_id", name=op.f("uq_order_bookings_booking_id")),
    )
    op.create_index(op.f("ix_order_bookings_order_id"), "order_bookings", ["order_id"])
    op.create_table(
        "order_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("sample_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("stored_name", sa.String(length=80), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"kind IN {FILE_KINDS!r}", name=op.f("ck_order_files_kind")),
        sa.CheckConstraint("size_bytes > 0", name=op.f("ck_order_files_size")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], ondelete="CASCADE",
                                name=op.f("fk_order_files_order_id_orders")),
        sa.ForeignKeyConstraint(["sample_id"], ["order_samples.id"], ondelete="CASCADE",
                                name=op.f("fk_order_files_sample_id_order_samples")),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["users.id"],
                                name=op.f("fk_order_files_uploaded_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_files")),
        sa.UniqueConstraint("stored_name", name=op.f("uq_order_files_stored_name")),
    )
    op.create_index(op.f("ix_order_files_order_id"), "order_files", ["order_id"])
    op.execute("ALTER TABLE bookings ADD COLUMN billed_separately BOOLEAN DEFAULT false "
               "NOT NULL")


def downgrade():
    op.execute("ALTER TABLE bookings DROP COLUMN billed_separately")
    op.drop_table("order_files")
    op.drop_table("order_bookings")
    op.drop_table("order_events")
    op.drop_table("order_samples")
    op.drop_table("orders")
    op.drop_table("order_settings")
