"""orders.release_on: when the customer gets the report (once the invoice is issued, or paid),
fixed when they sign, as the surcharge is. It was read from the lab's current settings, so a
lab changing its rule locked reports of orders signed under the other one.

Existing orders take their instrument's rule as it stands (what they were shown until now).
One ADD COLUMN with its CHECK on both databases: the orders table is not recreated.
"""
from alembic import op

revision = "0032_order_release"
down_revision = "0031_fee_lines"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("ALTER TABLE orders ADD COLUMN release_on VARCHAR(8) DEFAULT 'issued' NOT NULL "
               "CONSTRAINT ck_orders_release_on CHECK (release_on IN ('issued', 'paid'))")
    op.execute("UPDATE orders SET release_on = (SELECT s.release_on FROM order_settings s "
               "WHERE s.instrument_id = orders.instrument_id) WHERE EXISTS (SELECT 1 FROM "
               "order_settings s WHERE s.instrument_id = orders.instrument_id)")


def downgrade():
    # in place on SQLite too (3.35+), as 0030
    op.execute("ALTER TABLE orders DROP COLUMN release_on")
