"""Usage sessions record whom the use was for (customer_org_id): the booking's paying
organisation, else the user's. Billing and the rankings read it instead of joining every
session to its booking: at province scale that join was half of the rankings' compute.

Existing rows are filled as billing and the rankings computed it until now. On SQLite a NOT
NULL column with a foreign key cannot be added in place, and renaming a rebuilt table into
place would rewrite the invoice lines' foreign keys (SQLite does so while foreign keys are
on, which a transaction cannot switch off): the table is copied aside, dropped and created
anew under its own name.
"""
import sqlalchemy as sa
from alembic import op

revision = "0022_usage_customer"
down_revision = "0021_outbox_claims"
branch_labels = None
depends_on = None

CUSTOMER = ("COALESCE((SELECT organisation_id FROM bookings WHERE id = old.booking_id), "
            "(SELECT organisation_id FROM users WHERE id = old.user_id))")
COLUMNS = ("id", "instrument_id", "booking_id", "user_id", "started_at", "ended_at", "source",
           "recorded_by_id", "corrects_id", "void", "overrun", "note", "created_at")
FK = "fk_usage_sessions_customer_org_id_organisations"
INDEXES = {"ix_usage_sessions_booking_id": "booking_id",
           "ix_usage_sessions_instrument_started": "instrument_id, started_at",
           "ix_usage_sessions_started": "started_at", "ix_usage_sessions_user_id": "user_id"}


def _sqlite_table(with_customer: bool) -> str:
    customer = ("customer_org_id INTEGER NOT NULL, " if with_customer else "")
    customer_fk = (f"CONSTRAINT {FK} FOREIGN KEY(customer_org_id) REFERENCES organisations (id), "
                   if with_customer else "")
    return (
        "CREATE TABLE usage_sessions (id INTEGER NOT NULL, instrument_id INTEGER NOT NULL, "
        "booking_id INTEGER, user_id INTEGER NOT NULL, " + customer +
        "started_at DATETIME NOT NULL, ended_at DATETIME, source VARCHAR(16) NOT NULL, "
        "recorded_by_id INTEGER, corrects_id INTEGER, void BOOLEAN NOT NULL, "
        "overrun BOOLEAN NOT NULL, note VARCHAR(500) NOT NULL, created_at DATETIME NOT NULL, "
        "CONSTRAINT pk_usage_sessions PRIMARY KEY (id), "
        "CONSTRAINT ck_usage_sessions_source CHECK (source IN ('kiosk', 'manager', 'api')), "
        "CONSTRAINT ck_usage_sessions_order CHECK (ended_at IS NULL OR ended_at > started_at), "
        "CONSTRAINT fk_usage_sessions_booking_id_bookings FOREIGN KEY(booking_id) "
        "REFERENCES bookings (id), "
        "CONSTRAINT fk_usage_sessions_corrects_id_usage_sessions FOREIGN KEY(corrects_id) "
        "REFERENCES usage_sessions (id), " + customer_fk +
        "CONSTRAINT fk_usage_sessions_instrument_id_instruments FOREIGN KEY(instrument_id) "
        "REFERENCES instruments (id), "
        "CONSTRAINT fk_usage_sessions_recorded_by_id_users FOREIGN KEY(recorded_by_id) "
        "REFERENCES users (id), "
        "CONSTRAINT fk_usage_sessions_user_id_users FOREIGN KEY(user_id) REFERENCES users (id), "
        "CONSTRAINT uq_usage_sessions_corrects_id UNIQUE (corrects_id))")


def _rebuild_on_sqlite(with_customer: bool) -> None:
    """The table rebuilt with or without customer_org_id, its rows kept. The invoice lines'
    foreign keys are checked at commit (defer_foreign_keys): dropping the table leaves them
    dangling until its rows are back; each row put back settles the lines that name it.
    Rows go back in id order: a correction comes after the row it corrects."""
    columns = ", ".join(COLUMNS)
    kept, filled = (f"{columns}, customer_org_id", f"{columns}, {CUSTOMER} AS customer_org_id") \
        if with_customer else (columns, columns)
    op.execute("PRAGMA defer_foreign_keys = ON")  # until this transaction ends
    # Dropping a row and putting it back each look up the invoice lines naming it: without
    # an index on the column (only a partial one exists), each would scan them all.
    op.execute("CREATE INDEX ix_invoice_lines_usage_session_tmp "
               "ON invoice_lines (usage_session_id)")
    op.execute(f"CREATE TEMP TABLE usage_sessions_copy AS SELECT {filled} "
               "FROM usage_sessions AS old")
    op.execute("DROP TABLE usage_sessions")  # its indexes go with it
    op.execute(_sqlite_table(with_customer))
    op.execute(f"INSERT INTO usage_sessions ({kept}) SELECT {kept} FROM usage_sessions_copy "
               "ORDER BY id")
    op.execute("DROP TABLE usage_sessions_copy")
    op.execute("DROP INDEX ix_invoice_lines_usage_session_tmp")
    for name, indexed in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON usage_sessions ({indexed})")


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_on_sqlite(with_customer=True)
        return
    op.add_column("usage_sessions", sa.Column("customer_org_id", sa.Integer(), nullable=True))
    op.execute(f"UPDATE usage_sessions AS old SET customer_org_id = {CUSTOMER}")
    op.alter_column("usage_sessions", "customer_org_id", nullable=False)
    op.create_foreign_key(FK, "usage_sessions", "organisations", ["customer_org_id"], ["id"])


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_on_sqlite(with_customer=False)
        return
    op.drop_constraint(FK, "usage_sessions", type_="foreignkey")
    op.drop_column("usage_sessions", "customer_org_id")
