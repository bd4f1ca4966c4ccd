"""Reading on the hot paths (the calendar, the booking API, the token check) without the ORM's
per-query cost: several statements on one pooled connection (read_all), one statement on a
connection the thread keeps (kept_read), and Core rows made into loaded ORM objects
(attach_loaded)."""
import os
import re
import sqlite3
import threading
from functools import cache, lru_cache

from sqlalchemy import Connection, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import configure_mappers, make_transient_to_detached

from booking.core.db import SQLITE_BUSY_TIMEOUT_MS


def read_all(session, statements: tuple, parameters: dict) -> list[list]:
    """The rows of each read-only statement, read one after the other on one connection
    straight from the pool: no ORM session around them (the calendar's hot path). On
    PostgreSQL they autocommit: each takes its own snapshot, and BEGIN and ROLLBACK would add
    two round trips. A session already in a transaction, or bound to one (tests), is used as
    it is."""
    session = session()  # the scoped_session's current Session
    bind = session.get_bind()
    if session.in_transaction() or isinstance(bind, Connection):
        connection = session.connection()
        return [connection.execute(statement, parameters).all() for statement in statements]
    options = {"isolation_level": "AUTOCOMMIT"} if bind.dialect.name == "postgresql" else {}
    with bind.connect().execution_options(**options) as connection:
        return [connection.execute(statement, parameters).all() for statement in statements]


_kept = threading.local()


def kept_read(db, sql: str, parameters: dict) -> list[tuple]:
    """The rows of one small read-only statement in plain SQL (:name parameters) where the
    whole request is that read (the kept calendar's version check); `db`: the Flask-SQLAlchemy
    extension. It runs on a connection this thread keeps, in autocommit: a single SELECT sees
    one committed state, and there is no ORM session, pool checkout, BEGIN or ROLLBACK around
    it (as the bare-Flask ceilings do). In a transaction already begun (tests), and on an
    in-memory database, as read_all."""
    engine = _engine_outside_transaction(db)
    if engine is None:
        return read_all(db.session, (text(sql),), parameters)[0]
    connection = getattr(_kept, "connection", None)
    if connection is None or _kept.owner != (os.getpid(), engine.url):
        connection = _keep_connection(engine.url)
    if engine.dialect.name == "sqlite":
        return connection.execute(sql, parameters).fetchall()
    import psycopg

    try:
        return connection.execute(_pyformat(sql), parameters).fetchall()
    except psycopg.OperationalError:  # the server restarted or dropped it: once more, anew
        return _keep_connection(engine.url).execute(_pyformat(sql), parameters).fetchall()


def _keep_connection(url):
    """A new connection to `url` kept by this thread; the one it replaces is closed, unless
    it was inherited from the parent process (closing it would end the parent's session)."""
    previous = getattr(_kept, "connection", None)
    if previous is not None and _kept.owner[0] == os.getpid():
        previous.close()
    _kept.connection, _kept.owner = _connect(url), (os.getpid(), url)
    return _kept.connection


def _connect(url):
    if url.get_backend_name() == "sqlite":
        return sqlite3.connect(url.database, isolation_level=None,
                               timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    import psycopg

    return psycopg.connect(url.set(drivername="postgresql").render_as_string(
        hide_password=False), autocommit=True)


@lru_cache(maxsize=64)
def _pyformat(sql: str) -> str:
    """:name parameters as psycopg's %(name)s."""
    return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql)


def _engine_outside_transaction(db) -> Engine | None:
    """The engine the request's session would read, when it is a SQLite file or PostgreSQL
    (with psycopg) and the session is not in a transaction; None otherwise. A request that has
    no session yet gets none made for it: a session costs more to make and close than the
    read itself."""
    if db.session.registry.has():
        session = db.session()
        if session.in_transaction():
            return None
        bind = session.get_bind()
    else:
        bind = db.session.session_factory.kw.get("bind") or db.engine
    if isinstance(bind, Connection):
        return None
    if bind.dialect.name == "sqlite":
        return bind if bind.url.database not in (None, "", ":memory:") else None
    return bind if bind.dialect.name == "postgresql" and bind.driver == "psycopg" else None


def attach_loaded(session, model, values, **related):
    """The instance of `model` whose table columns, in the table's order, are `values` (a
    Core row of INSERT ... RETURNING them, or a slice of a Core SELECT's row), in `session` as
    if an ORM query had loaded it: nothing pending, no SQL. The hot paths read with Core
    because the ORM rebuilds its row processors on every execution (half the cost of a
    one-row query). `related`: relationships loaded with it (objects attached likewise: the
    session holds objects weakly, so one nothing refers to is gone at once); the others load
    lazily. An instance the session already holds is returned as it is, as a query would."""
    mapper = model.__mapper__
    keys = _attribute_keys(mapper)
    identity = mapper.identity_key_from_primary_key(
        [values[i] for i in _primary_key_positions(mapper)])
    existing = session.identity_map.get(identity)
    if existing is not None:
        return existing
    instance = mapper.class_manager.new_instance()  # no constructor, no events
    instance.__dict__.update(zip(keys, values, strict=True))
    instance.__dict__.update(related)
    make_transient_to_detached(instance)
    session.add(instance)
    return instance


@cache
def _attribute_keys(mapper) -> tuple[str, ...]:
    configure_mappers()  # what a query or constructor would do first: the attributes' setup
    return tuple(mapper.get_property_by_column(column).key for column in mapper.local_table.c)


@cache
def _primary_key_positions(mapper) -> tuple[int, ...]:
    columns = list(mapper.local_table.c)
    return tuple(columns.index(column) for column in mapper.primary_key)
