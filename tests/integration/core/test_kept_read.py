"""core.reads.kept_read: the kept calendar's version check reads on a connection its thread keeps,
in autocommit, and still sees every commit; on PostgreSQL it survives the server hanging up."""
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import scoped_session, sessionmaker

from booking.core import reads as core_reads
from booking.core.reads import kept_read

READ = "SELECT v FROM kept_read_t WHERE id = :id"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path, database_url):
    """A table t(id, v) holding (1, 1), and what kept_read uses of Flask-SQLAlchemy's
    extension: its scoped session and engine."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/kept.sqlite"
    elif database_url.startswith("postgresql"):
        url = database_url
    else:
        pytest.skip("no PostgreSQL (TEST_DATABASE_URL) to read")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS kept_read_t")
        connection.exec_driver_sql("CREATE TABLE kept_read_t (id INTEGER PRIMARY KEY, v INTEGER)")
        connection.exec_driver_sql("INSERT INTO kept_read_t VALUES (1, 1)")
    core_reads._kept.__dict__.clear()  # nothing kept from another test's database
    yield engine, SimpleNamespace(session=scoped_session(sessionmaker()), engine=engine)
    core_reads._kept.__dict__.clear()
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE kept_read_t")
    engine.dispose()


@pytest.mark.committing
def test_each_read_sees_the_latest_commit_of_another_connection(database):
    engine, db = database
    assert kept_read(db, READ, {"id": 1}) == [(1,)]
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE kept_read_t SET v = 2 WHERE id = 1")
    assert kept_read(db, READ, {"id": 1}) == [(2,)]
    assert kept_read(db, READ, {"id": 9}) == []
    assert not db.session.registry.has()  # no ORM session was even made


@pytest.mark.committing
def test_inside_a_transaction_it_reads_through_the_session(database):
    engine, db = database
    db.session.configure(bind=engine)
    db.session.execute(text("UPDATE kept_read_t SET v = 3 WHERE id = 1"))
    assert kept_read(db, READ, {"id": 1}) == [(3,)]  # its own uncommitted write
    db.session.rollback()
    assert kept_read(db, READ, {"id": 1}) == [(1,)]
    db.session.remove()


@pytest.mark.committing
def test_a_kept_connection_the_server_dropped_is_opened_anew(database):
    engine, db = database
    if engine.dialect.name != "postgresql":
        pytest.skip("a SQLite file has no server to hang up")
    assert kept_read(db, READ, {"id": 1}) == [(1,)]
    victim = kept_read(db, "SELECT pg_backend_pid()", {})[0][0]
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": victim})
    assert kept_read(db, READ, {"id": 1}) == [(1,)]
    assert kept_read(db, "SELECT pg_backend_pid()", {})[0][0] != victim
