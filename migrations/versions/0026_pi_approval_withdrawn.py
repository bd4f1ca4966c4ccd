"""A PI approval can be withdrawn: a request cancelled while its PI had not decided leaves the
PI's list (before, the PI was still asked, and reminded, to decide a cancelled request).

PostgreSQL swaps the state's CHECK constraint. SQLite cannot alter one: the table, which no
other table refers to, is rebuilt from its own definition with the new check."""
import re

from alembic import op

revision = "0026_pi_approval_withdrawn"
down_revision = "0025_instrument_description_en"
branch_labels = None
depends_on = None

OLD = ("pending", "approved", "rejected", "expired")
NEW = (*OLD, "withdrawn")


def upgrade():
    _allow(OLD, NEW)


def downgrade():
    op.execute("UPDATE pi_approvals SET state = 'expired' WHERE state = 'withdrawn'")
    _allow(NEW, OLD)


def _check(states: tuple) -> str:
    return f"state IN {states!r}"


def _allow(before: tuple, after: tuple) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE pi_approvals DROP CONSTRAINT ck_pi_approvals_state")
        op.execute(f"ALTER TABLE pi_approvals ADD CONSTRAINT ck_pi_approvals_state "
                   f"CHECK ({_check(after)})")
        return
    bind = op.get_bind()
    table = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' "
                                 "AND name = 'pi_approvals'").scalar()
    indexes = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'index' AND "
                                   "tbl_name = 'pi_approvals' AND sql IS NOT NULL").scalars().all()
    assert _check(before) in table, table
    # a renamed table's definition names it in quotes: "pi_approvals"
    op.execute(re.sub(r'^CREATE TABLE "?pi_approvals"?', "CREATE TABLE pi_approvals_new",
                      table.replace(_check(before), _check(after))))
    op.execute("INSERT INTO pi_approvals_new SELECT * FROM pi_approvals")
    op.execute("DROP TABLE pi_approvals")  # its indexes go with it
    op.execute("ALTER TABLE pi_approvals_new RENAME TO pi_approvals")
    for index in indexes:
        op.execute(index)
