"""Database plumbing that knows no domain: the aware-UTC column type, timestamps, SQLite set-up,
bulk loading."""
import fcntl
import itertools
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from functools import wraps

from flask import g, has_request_context, request
from sqlalchemy import DateTime, event, func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.pool import Pool
from sqlalchemy.types import TypeDecorator

from booking.core.clock import now_utc

# Bounds of what a column holds, checked at the edge so that no value reaches a driver that
# cannot store it: ids are INTEGER (4 bytes on PostgreSQL; the same bound on SQLite keeps the
# answers alike), money and counters of fen BIGINT.
MAX_ID = 2**31 - 1
MAX_BIGINT = 2**63 - 1


def id_in(text: str) -> int | None:
    """The id a person typed or a link carries ("1234"), or None. ASCII digits only: "²" is a
    digit to str.isdigit() but not to int(), which also refuses thousands of digits."""
    if not (text.isascii() and text.isdigit() and len(text) <= 10):
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as UTC and always returns aware UTC datetimes.

    PostgreSQL keeps `timestamptz`; SQLite keeps naive UTC text. Naive input is a bug
    and is refused rather than guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def result_processor(self, dialect, coltype):
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        # SQLite hands back the stored text: parse it as UTC in one C call instead of
        # SQLAlchemy's parser plus process_result_value (exports read 100,000 of these; the
        # offset is parsed in a seventh of the time datetime.replace takes to attach it).
        def process(value):
            if value is None:
                return None
            try:
                moment = datetime.fromisoformat(value + "+00:00")
            except ValueError:  # written with an offset by something other than this type
                moment = datetime.fromisoformat(value)
            if moment.tzinfo is None:  # a bare date: Python 3.11 drops the offset after one
                return moment.replace(tzinfo=UTC)
            return moment if moment.tzinfo is UTC else moment.astimezone(UTC)

        return process


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)


# --- SQLite: WAL, foreign keys, waiting writers, and BEGIN IMMEDIATE for writes -------------
# pysqlite's own transaction handling is switched off (isolation_level=None) so that we emit
# BEGIN ourselves (SQLAlchemy's documented recipe). Requests that may write (POST, PUT, ...)
# and CLI jobs take the write lock up front with BEGIN IMMEDIATE, so concurrent writers queue
# on the busy timeout instead of failing with "database is locked" when upgrading a read lock.
# GET requests begin deferred and read a WAL snapshot without blocking anyone.

SQLITE_BUSY_TIMEOUT_MS = 15000


class QueuedWriterConnection(sqlite3.Connection):
    """A SQLite connection whose write transactions first queue on an OS file lock beside the
    database (`<file>-writers.lock`), released when the transaction ends.

    SQLite's own busy handler waits by sleeping with a back-off of up to 100 ms, so under a
    steady stream of writes one process keeps winning the lock and the others sleep through
    the moments it is free (measured: one gunicorn worker at 85 % CPU, the other at 16 %).
    Waiting on the file lock instead wakes a writer within a tenth of a millisecond of the
    release. The busy timeout stays as the bound on waiting, and as the guard against writers
    that do not use this class."""

    def __init__(self, database, *args, **kwargs):
        super().__init__(database, *args, **kwargs)
        name = str(database)
        plain_file = name not in ("", ":memory:") and not name.startswith("file:")
        self._lock_path = name + "-writers.lock" if plain_file else None
        self._lock_fd: int | None = None
        self._holding = False

    def queue_for_write(self) -> None:
        if self._lock_path is None or self._holding:
            return
        if self._lock_fd is None:
            self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        started = time.monotonic()
        while True:
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = time.monotonic() - started
                if waited > SQLITE_BUSY_TIMEOUT_MS / 1000:
                    raise sqlite3.OperationalError("database is locked") from None
                # a booking holds the lock for about a millisecond: look again soon (0.5 ms
                # between looks cost a tenth of the booking API's throughput); a long job
                # (a month close) is waited for at a gentler pace
                time.sleep(0.0001 if waited < 0.02 else 0.001)
        self._holding = True

    def _release(self) -> None:
        if self._holding:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            self._holding = False

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release()

    def close(self) -> None:
        self._release()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        super().close()


def engine_options(database_uri: str, options: dict) -> dict:
    """SQLAlchemy engine options: on SQLite, connections of the class above."""
    if not database_uri.startswith("sqlite"):
        return options
    connect_args = {"factory": QueuedWriterConnection, **options.get("connect_args", {})}
    return {**options, "connect_args": connect_args}


# --- PostgreSQL: ping connections that sat idle, not every checkout ---------------------------
# pool_pre_ping would send every request's connection a SELECT 1 first: one network round trip
# more on every page (the calendar's single query would become two). A connection that came
# back to the pool moments ago is alive; one that sat idle may have been dropped by a server
# restart or a firewall's idle timeout, and only that one is pinged. A connection that dies
# while in use is handled by SQLAlchemy's disconnect detection (the pool is then renewed).
IDLE_PING_SECONDS = 30


@event.listens_for(Pool, "checkin")
def _note_idle_since(dbapi_connection, record):
    record.info["idle_since"] = time.monotonic()


@event.listens_for(Pool, "checkout")
def _ping_if_idle(dbapi_connection, record, proxy):
    if isinstance(dbapi_connection, sqlite3.Connection):  # a local file does not hang up
        return
    idle_since = record.info.get("idle_since")
    if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
        return
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
        dbapi_connection.rollback()
    except Exception as error:  # any failure: drop this connection, the pool opens another
        raise DisconnectionError(str(error)) from error


def _queue_for_write(connection) -> None:
    dbapi_connection = connection.connection.driver_connection
    if isinstance(dbapi_connection, QueuedWriterConnection):
        dbapi_connection.queue_for_write()


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, connection_record):
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _wants_write_lock() -> bool:
    if has_request_context():
        return request.method not in ("GET", "HEAD", "OPTIONS") and not g.get("lock_late")
    return True


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(connection):
    if connection.dialect.name != "sqlite":
        return
    immediate = _wants_write_lock()
    if immediate:
        _queue_for_write(connection)
    _driver_sql(connection, "BEGIN IMMEDIATE" if immediate else "BEGIN")
    connection.info["write_locked"] = immediate


def _driver_sql(connection, sql: str) -> None:
    """A transaction statement straight to the SQLite driver: SQLAlchemy's execution path
    costs 8 µs around a statement SQLite runs in 1, and every request begins a transaction
    (a booking sends three of them)."""
    connection.connection.driver_connection.execute(sql).close()


# Some writes read a lot first (the booking form and API: the token, the instrument, every
# booking rule) and then write one short burst whose correctness the database guards itself
# (the no-overlap trigger). Holding SQLite's single write lock through all that reading makes
# concurrent bookings queue for the whole request; such views are marked @reads_first: they
# begin with a plain read transaction, and take_write_lock() swaps it for BEGIN IMMEDIATE just
# before the first write. PostgreSQL locks rows, not the database: both are no-ops there.
def reads_first(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        g.lock_late = True
        return view(*args, **kwargs)

    return wrapped


def take_write_lock(session) -> None:
    """Take SQLite's write lock now, ending a read-only transaction begun by a @reads_first
    view. Call it before the first write: what was read stays loaded but is re-checked by the
    database's own constraints, as on PostgreSQL under READ COMMITTED."""
    connection = session.connection()
    if connection.dialect.name != "sqlite" or connection.info.get("write_locked", True):
        return
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("take_write_lock() must come before the first write")
    _driver_sql(connection, "COMMIT")  # nothing was written: this only ends the snapshot
    _queue_for_write(connection)
    _driver_sql(connection, "BEGIN IMMEDIATE")
    connection.info["write_locked"] = True


def utc(year, month, day, hour=0, minute=0) -> datetime:
    """Short constructor for aware UTC datetimes (seeds, tests)."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- bulk loading ----------------------------------------------------------------------------
BULK_BATCH = 10_000


def bulk_insert(session, table, rows, fire_triggers: bool = True) -> int:
    """Insert many rows (dicts with the same keys, else ValueError) into `table` in the
    session's transaction; returns how many. PostgreSQL: COPY, which also fires a statement
    trigger once instead of once per row; elsewhere one executemany per BULK_BATCH rows.
    Columns the rows leave out take their Python-side default, evaluated once (scalars and
    argument-less callables such as now_utc), or the server's. For seeds and set-based writes
    (the month close's invoices and lines): no ORM events run. fire_triggers=False: on
    PostgreSQL the table's own triggers (not its constraints) skip this load, for rows nothing
    was derived from yet (a new instrument's opening hours need not bump its calendar
    version); it locks the table until commit."""
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return 0
    connection = session.connection()
    defaults = default_values(python_defaults(table, first))
    if connection.dialect.name != "postgresql":
        return _insert_batches(connection, table, first, rows, defaults)
    keys = list(first)
    columns = [table.c[key] for key in keys] + [table.c[key] for key in defaults]
    dialect = connection.dialect
    processors = [(i, processor) for i, c in enumerate(columns) if (
        processor := c.type.dialect_impl(dialect).bind_processor(dialect)) is not None]
    fixed = list(defaults.values())
    names = ", ".join(f'"{c.name}"' for c in columns)
    statement, count = f'COPY "{table.name}" ({names}) FROM STDIN', 0
    dbapi_error = connection.dialect.loaded_dbapi.Error
    if not fire_triggers:
        connection.exec_driver_sql(f'ALTER TABLE "{table.name}" DISABLE TRIGGER USER')
    try:
        with connection.connection.driver_connection.cursor() as cursor, \
                cursor.copy(statement) as copy:
            for row in itertools.chain([first], rows):
                if row.keys() != first.keys():  # compared as sets, in C
                    _differ(row, first)
                values = [row[key] for key in keys] + fixed
                for i, processor in processors:
                    if values[i] is not None:
                        values[i] = processor(values[i])
                copy.write_row(values)
                count += 1
    except dbapi_error as error:
        raise driver_error(connection, error, statement, None, cursor) from error
    if not fire_triggers:
        connection.exec_driver_sql(f'ALTER TABLE "{table.name}" ENABLE TRIGGER USER')
    return count


def driver_error(connection, error, statement, parameters, cursor) -> DBAPIError:
    """`error`, raised by the driver itself for a statement sent past SQLAlchemy, as
    SQLAlchemy would raise it: IntegrityError, OperationalError and so on; a connection the
    error shows lost is invalidated, so that rolling back and the pool carry on as after any
    statement."""
    lost = connection.dialect.is_disconnect(error, connection.connection.dbapi_connection,
                                            cursor)
    if lost:
        connection.invalidate(error)
    return DBAPIError.instance(statement, parameters, error, connection.dialect.loaded_dbapi.Error,
                               connection_invalidated=lost, dialect=connection.dialect)


def reserve_ids(session, table, count: int) -> list[int]:
    """`count` new ids of `table` (an integer primary key `id`) for rows bulk-inserted with
    their ids given, so that nothing is read back: on PostgreSQL drawn from the column's
    sequence, safe beside concurrent inserts; on SQLite counted on from the largest id (a
    writer holds the database's single write lock)."""
    if count <= 0:
        return []
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        return list(connection.execute(text(
            "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
            {"table": table.name, "n": count}).scalars())
    last = connection.execute(select(func.max(table.c.id))).scalar() or 0
    return list(range(last + 1, last + 1 + count))


def analyze(session, *tables) -> None:
    """PostgreSQL: refresh the planner's statistics of `tables` (all, when none are named)
    after a bulk load, within the open transaction (which ANALYZE counts, its own rows
    included). Without them the planner takes a table loaded moments ago for empty and
    scans it whole for every lookup by key. Elsewhere nothing."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("ANALYZE " + ", ".join(f'"{t.name}"' for t in tables))


def _differ(row: dict, first: dict) -> None:
    raise ValueError(f"bulk_insert rows differ in their keys: {sorted(row)} != {sorted(first)}")


def python_defaults(table, given) -> dict:
    """{key: ColumnDefault} of the columns of `table` not in `given` whose default SQLAlchemy
    computes in Python: scalars and argument-less callables such as now_utc (server defaults
    are the database's own)."""
    return {column.key: column.default for column in table.columns
            if column.key not in given and column.default is not None
            and (column.default.is_scalar or column.default.is_callable)}


def default_values(defaults: dict) -> dict:
    """python_defaults evaluated now."""
    return {key: default.arg(None) if default.is_callable else default.arg
            for key, default in defaults.items()}


def _insert_batches(connection, table, first: dict, rows, defaults: dict) -> int:
    statement, count = table.insert(), 0
    for batch in chunks(itertools.chain([first], rows), BULK_BATCH):
        for row in batch:
            if row.keys() != first.keys():
                _differ(row, first)
        connection.execute(statement, [{**row, **defaults} for row in batch])
        count += len(batch)
    return count


def chunks(items: Iterable, size: int = 1000) -> Iterator[list]:
    """`items` in lists of at most `size` (IN-lists kept short, loads in batches)."""
    items = iter(items)
    while chunk := list(itertools.islice(items, size)):
        yield chunk
