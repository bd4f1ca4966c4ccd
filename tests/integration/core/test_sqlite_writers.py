"""SQLite writers queue on a file lock beside the database, released when their transaction
ends (booking.core.db.QueuedWriterConnection)."""
import fcntl
import sqlite3

import pytest

from booking.core.db import QueuedWriterConnection, engine_options


def _connect(path):
    return sqlite3.connect(str(path), factory=QueuedWriterConnection, isolation_level=None)


def _lock_is_free(path) -> bool:
    with open(f"{path}-writers.lock", "a") as probe:
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(probe, fcntl.LOCK_UN)
        return True


@pytest.mark.parametrize("end", ["commit", "rollback", "close"])
def test_the_write_lock_is_held_until_the_transaction_ends(tmp_path, end):
    path = tmp_path / "app.db"
    writer = _connect(path)
    writer.queue_for_write()
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("CREATE TABLE t (x)")
    assert not _lock_is_free(path)
    getattr(writer, end)()
    assert _lock_is_free(path)


def test_in_memory_databases_need_no_lock(tmp_path):
    memory = sqlite3.connect(":memory:", factory=QueuedWriterConnection)
    memory.queue_for_write()  # nothing to lock: no error, no file
    memory.commit()
    assert list(tmp_path.iterdir()) == []


def test_only_sqlite_engines_get_the_connection_class():
    assert engine_options("postgresql+psycopg://db/x", {"pool_size": 5}) == {"pool_size": 5}
    options = engine_options("sqlite:////tmp/x.db", {"connect_args": {"timeout": 3}})
    assert options["connect_args"] == {"factory": QueuedWriterConnection, "timeout": 3}
