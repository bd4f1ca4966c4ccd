"""Database plumbing that knows no domain: the aware-UTC column type, timestamps, SQLite set-up."""
import sqlite3
from datetime import UTC, datetime

from flask import has_request_context, request
from sqlalchemy import DateTime, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from booking.core.clock import now_utc


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


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)


# --- SQLite: WAL, foreign keys, waiting writers, and BEGIN IMMEDIATE for writes -------------
# pysqlite's own transaction handling is switched off (isolation_level=None) so that we emit
# BEGIN ourselves (SQLAlchemy's documented recipe). Requests that may write (POST, PUT, ...)
# and CLI jobs take the write lock up front with BEGIN IMMEDIATE, so concurrent writers queue
# on the busy timeout instead of failing with "database is locked" when upgrading a read lock.
# GET requests begin deferred and read a WAL snapshot without blocking anyone.

SQLITE_BUSY_TIMEOUT_MS = 15000


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
        return request.method not in ("GET", "HEAD", "OPTIONS")
    return True


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(connection):
    if connection.dialect.name != "sqlite":
        return
    connection.exec_driver_sql("BEGIN IMMEDIATE" if _wants_write_lock() else "BEGIN")


def utc(year, month, day, hour=0, minute=0) -> datetime:
    """Short constructor for aware UTC datetimes (seeds, tests)."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)
