"""The calendar shows its reader's own requests that wait for their PI as such (待导师审批),
so a PI's decision changes what the calendar shows: pi_approvals bump the booking's
instrument's calendar_version as the bookings do (0009), on insert, on a change of state and
on delete, in the same transaction. Row-level on both databases: approvals are written one at
a time.
"""
from alembic import op

revision = "0034_pi_calendar_bump"
down_revision = "0033_reimbursement_reference"
branch_labels = None
depends_on = None

_INSTRUMENT_OF = "(SELECT instrument_id FROM bookings WHERE id = {row}.booking_id)"


def _bump(row: str) -> str:
    return (f"UPDATE instruments SET calendar_version = calendar_version + 1 "
            f"WHERE id = {_INSTRUMENT_OF.format(row=row)}")


PG_FUNCTION = f"""
CREATE FUNCTION calendar_bump_pi_approvals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        {_bump("OLD")};
    ELSE
        {_bump("NEW")};
    END IF;
    RETURN NULL;
END $$;
"""

SQLITE_TRIGGERS = {
    "calendar_bump_pi_approvals_insert": f"AFTER INSERT ON pi_approvals BEGIN {_bump('NEW')}; END",
    "calendar_bump_pi_approvals_update": "AFTER UPDATE OF state ON pi_approvals "
    f"WHEN NEW.state IS NOT OLD.state BEGIN {_bump('NEW')}; END",
    "calendar_bump_pi_approvals_delete": f"AFTER DELETE ON pi_approvals BEGIN {_bump('OLD')}; END",
}


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute("CREATE TRIGGER calendar_bump AFTER INSERT OR DELETE OR UPDATE OF state "
                   "ON pi_approvals FOR EACH ROW EXECUTE FUNCTION calendar_bump_pi_approvals()")
    else:
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER calendar_bump ON pi_approvals")
        op.execute("DROP FUNCTION calendar_bump_pi_approvals()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
