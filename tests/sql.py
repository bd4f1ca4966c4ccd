"""What SQL a piece of code sends: `with statements() as seen: ...` lists each statement;
`statements(selects=True)`: the SELECTs only (not the test harness's SAVEPOINTs)."""
from contextlib import contextmanager

from sqlalchemy import event

from booking.extensions import db


@contextmanager
def statements(selects: bool = False):
    seen = []

    def listener(conn, cursor, statement, *args):
        if not selects or statement.lstrip().startswith("SELECT"):
            seen.append(statement)

    engine = db.session.get_bind()
    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)
