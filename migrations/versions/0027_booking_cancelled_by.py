"""A booking records who cancelled it (cancelled_by_id): its page says whether the booker or
the lab did, and who, as it does for approvals. Bookings cancelled before stay unknown (NULL).

A plain ADD COLUMN on SQLite too (a nullable column with a reference is allowed in place):
rebuilding bookings would rewrite every table that refers to it."""
import sqlalchemy as sa
from alembic import op

revision = "0027_booking_cancelled_by"
down_revision = "0026_pi_approval_withdrawn"
branch_labels = None
depends_on = None

FK = "fk_bookings_cancelled_by_id_users"


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.add_column("bookings", sa.Column("cancelled_by_id", sa.Integer()))
        op.create_foreign_key(op.f(FK), "bookings", "users", ["cancelled_by_id"], ["id"])
    else:
        op.execute(f"ALTER TABLE bookings ADD COLUMN cancelled_by_id INTEGER "
                   f"CONSTRAINT {FK} REFERENCES users (id)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f(FK), "bookings", type_="foreignkey")
    op.execute("ALTER TABLE bookings DROP COLUMN cancelled_by_id")
