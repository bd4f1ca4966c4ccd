"""Pooled PostgreSQL connections are pinged only after sitting idle (booking.core.db): a hot
connection costs no extra round trip, a dropped one is replaced before a request uses it."""
import pytest
from sqlalchemy import create_engine, text

from booking.core import db as core_db


class FakeConnection:
    def __init__(self, fails=False):
        self.fails, self.statements, self.rolled_back = fails, [], False

    def cursor(self):
        return self

    def execute(self, statement):
        if self.fails:
            raise OSError("server closed the connection unexpectedly")
        self.statements.append(statement)

    def close(self):
        pass

    def rollback(self):
        self.rolled_back = True


class Record:
    def __init__(self, idle_since=None):
        self.info = {} if idle_since is None else {"idle_since": idle_since}


def test_a_new_or_recently_returned_connection_is_not_pinged(monkeypatch):
    monkeypatch.setattr(core_db.time, "monotonic", lambda: 1000.0)
    for record in (Record(), Record(idle_since=1000.0 - core_db.IDLE_PING_SECONDS + 1)):
        connection = FakeConnection()
        core_db._ping_if_idle(connection, record, None)
        assert connection.statements == []


def test_a_connection_idle_for_a_while_is_pinged(monkeypatch):
    monkeypatch.setattr(core_db.time, "monotonic", lambda: 1000.0)
    connection = FakeConnection()
    core_db._ping_if_idle(connection, Record(idle_since=1000.0 - core_db.IDLE_PING_SECONDS), None)
    assert connection.statements == ["SELECT 1"] and connection.rolled_back


def test_a_dead_idle_connection_is_given_up(monkeypatch):
    monkeypatch.setattr(core_db.time, "monotonic", lambda: 1000.0)
    with pytest.raises(core_db.DisconnectionError):
        core_db._ping_if_idle(FakeConnection(fails=True), Record(idle_since=0.0), None)


@pytest.mark.committing
def test_a_connection_dropped_by_the_server_is_replaced(database_url, monkeypatch):
    """A server-side disconnect of an idle pooled connection (restart, idle timeout) does not
    reach the next request: the pool pings it, sees it dead and opens a new one."""
    if not database_url.startswith("postgresql"):
        pytest.skip("a SQLite file has no server to hang up")
    monkeypatch.setattr(core_db, "IDLE_PING_SECONDS", 0)
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            victim = conn.scalar(text("SELECT pg_backend_pid()"))
        with admin.connect() as conn:
            assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": victim})
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT pg_backend_pid()")) != victim
    finally:
        engine.dispose()
        admin.dispose()
