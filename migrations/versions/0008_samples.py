"""Per-sample fee of staff-operated (送样) bookings.

bookings.sample_count: how many samples a staff-operated booking hands in (0 otherwise), at
most 1000. One ADD COLUMN with a column CHECK on both databases (SQLite >= 3.37 checks it
against the existing rows, all 0): the bookings table is not recreated, so its no-overlap
triggers (0003, 0007) are untouched.

invoice_lines: kind 'samples' (the CHECK lists it) and uq_invoice_lines_booking_samples, so
each booking's samples are charged at most once. SQLite cannot alter a CHECK: the table is
recreated (batch). Its partial unique indexes are dropped before and created again after, with
their WHERE clauses, rather than left to what the batch reflects of them. No trigger or view
refers to invoice_lines, and no foreign key points at it. PostgreSQL swaps the CHECK in place.

Downgrade refuses while invoice lines charge samples (issued invoices are not rewritten).
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_samples"
down_revision = "0007_booking_span"
branch_labels = None
depends_on = None

OLD_KINDS = "('usage', 'no_show', 'late_cancel', 'credit')"
NEW_KINDS = "('usage', 'no_show', 'late_cancel', 'credit', 'samples')"
MAX_SAMPLES = 1000
# name: (column, WHERE) of invoice_lines' partial unique indexes before this revision
PARTIAL_INDEXES = {
    "uq_invoice_lines_usage_session": ("usage_session_id", "kind = 'usage'"),
    "uq_invoice_lines_booking_penalty": ("booking_id", "kind IN ('no_show', 'late_cancel')"),
}
SAMPLES_INDEX = ("uq_invoice_lines_booking_samples", "booking_id", "kind = 'samples'")


def _is_sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _create_partial(name: str, column: str, where: str) -> None:
    op.create_index(name, "invoice_lines", [column], unique=True,
                    sqlite_where=sa.text(where), postgresql_where=sa.text(where))


def _line_kinds(kinds: str) -> None:
    """Replace the CHECK on invoice_lines.kind."""
    name = op.f("ck_invoice_lines_kind")
    if not _is_sqlite():
        op.drop_constraint(name, "invoice_lines", type_="check")
        op.create_check_constraint(name, "invoice_lines", f"kind IN {kinds}")
        return
    for index in PARTIAL_INDEXES:
        op.drop_index(index, table_name="invoice_lines")
    with op.batch_alter_table("invoice_lines", recreate="always") as batch_op:
        batch_op.drop_constraint(name, type_="check")
        batch_op.create_check_constraint(name, f"kind IN {kinds}")
    for index, (column, where) in PARTIAL_INDEXES.items():
        _create_partial(index, column, where)


def upgrade():
    op.execute("ALTER TABLE bookings ADD COLUMN sample_count INTEGER DEFAULT 0 NOT NULL "
               "CONSTRAINT ck_bookings_sample_count "
               f"CHECK (sample_count >= 0 AND sample_count <= {MAX_SAMPLES})")
    _line_kinds(NEW_KINDS)
    _create_partial(*SAMPLES_INDEX)


def downgrade():
    charged = op.get_bind().scalar(sa.text(
        "SELECT count(*) FROM invoice_lines WHERE kind = 'samples'"))
    if charged:
        raise RuntimeError(f"{charged} invoice lines charge samples: issued invoices are not "
                           "rewritten, so this revision cannot be undone")
    op.drop_index(SAMPLES_INDEX[0], table_name="invoice_lines")
    _line_kinds(OLD_KINDS)
    op.execute("ALTER TABLE bookings DROP COLUMN sample_count")
