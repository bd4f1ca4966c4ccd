"""core.db.kept_read: the kept calendar's version check reads a SQLite file on a connection
its thread keeps, in autocommit, and still sees every commit."""
from types import SimpleNamespace

from sqlalchemy import create_engine, text
from sqlalchemy.orm import scoped_session, sessionmaker

from booking.core.db import kept_read

READ = "SELECT v FROM t WHERE id = :id"


def _database(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/kept.sqlite")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)")
        connection.exec_driver_sql("INSERT INTO t VALUES (1, 1)")
    # what kept_read uses of Flask-SQLAlchemy's extension: its scoped session and engine
    return engine, SimpleNamespace(session=scoped_session(sessionmaker()), engine=engine)


def test_each_read_sees_the_latest_commit_of_another_connection(tmp_path):
    engine, db = _database(tmp_path)
    assert kept_read(db, READ, {"id": 1}) == [(1,)]
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE t SET v = 2 WHERE id = 1")
    assert kept_read(db, READ, {"id": 1}) == [(2,)]
    assert kept_read(db, READ, {"id": 9}) == []
    assert not db.session.registry.has()  # no ORM session was even made
    engine.dispose()


def test_inside_a_transaction_it_reads_through_the_session(tmp_path):
    engine, db = _database(tmp_path)
    db.session.configure(bind=engine)
    db.session.execute(text("UPDATE t SET v = 3 WHERE id = 1"))
    assert kept_read(db, READ, {"id": 1}) == [(3,)]  # its own uncommitted write
    db.session.rollback()
    assert kept_read(db, READ, {"id": 1}) == [(1,)]
    engine.dispose()
