"""Writing on the hot paths straight to the driver: the booking, its audit event, its inbox
notice and its e-mail are four INSERTs made while SQLite's single write lock is held, which
every other booking queues for. Through SQLAlchemy's execution path each cost about 40 µs
around a statement SQLite runs in 5; through the driver, the lock is held a fifth less and a
booking costs a tenth less in all (bench/README.md, 2026-12-06, third session).

The SQL is SQLAlchemy's own, compiled once per table, columns and dialect; values pass the
columns' own bind and result processors, and an error is raised as SQLAlchemy would raise
it (IntegrityError, OperationalError, ...; a lost connection is invalidated, a value the
column cannot take is a StatementError). What this skips is SQLAlchemy's statement
events: `before_cursor_execute` listeners (tests/sql.py) do not see these statements."""
from functools import lru_cache
from typing import NamedTuple

from sqlalchemy import insert
from sqlalchemy.exc import StatementError

from booking.core.db import default_values, driver_error, python_defaults


class _Plan(NamedTuple):
    sql: str
    keys: tuple[str, ...]  # the parameters, in the statement's order when it is positional
    key_set: frozenset  # the same, to check each row's keys against
    positional: bool
    processors: tuple  # (key, bind processor) of the parameters that have one
    defaults: dict  # ColumnDefault of each column the rows leave out (db.python_defaults)
    results: tuple  # result processor (or None) of each returned column, in the table's order


def insert_rows(session, table, rows: list[dict]) -> None:
    """INSERT `rows` (dicts with the same keys) into `table` in the session's transaction.
    Columns the rows leave out take their Python-side default (evaluated once) or the
    server's."""
    if rows:
        _execute(session, table, rows, returning=False)


def insert_returning(session, table, row: dict) -> tuple:
    """INSERT one row into `table` and return the stored row: every column in the table's
    order, as SQLAlchemy would load it (for core.reads.attach_loaded)."""
    plan, stored = _execute(session, table, [row], returning=True)
    return tuple(value if processor is None or value is None else processor(value)
                 for value, processor in zip(stored, plan.results, strict=True))


def _execute(session, table, rows: list[dict], returning: bool):
    connection = session.connection()
    dialect = connection.dialect
    plan = _plan(table, tuple(rows[0]), dialect, returning)
    defaults = default_values(plan.defaults)
    parameters = [_parameters(plan, defaults, row) for row in rows]
    cursor = connection.connection.driver_connection.cursor()
    try:
        if len(parameters) > 1:
            cursor.executemany(plan.sql, parameters)
            return None
        cursor.execute(plan.sql, parameters[0])
        return (plan, cursor.fetchone()) if returning else None
    except dialect.loaded_dbapi.Error as error:
        raise driver_error(connection, error, plan.sql, parameters, cursor) from error
    finally:
        cursor.close()


def _parameters(plan: _Plan, defaults: dict, row: dict):
    values = {**defaults, **row}
    if values.keys() != plan.key_set:
        raise ValueError(f"rows differ in their keys: {sorted(row)}")
    try:
        for key, processor in plan.processors:
            if values[key] is not None:
                values[key] = processor(values[key])
    except (TypeError, ValueError, AttributeError) as error:  # a naive datetime, say
        raise StatementError(str(error), plan.sql, row, error) from error
    return tuple(values[key] for key in plan.keys) if plan.positional else values


@lru_cache(maxsize=64)
def _plan(table, keys: tuple[str, ...], dialect, returning: bool) -> _Plan:
    defaults = python_defaults(table, keys)
    # inline: without it PostgreSQL's INSERT would return the new id, which nothing reads
    statement = insert(table).returning(*table.c) if returning else insert(table).inline()
    compiled = statement.compile(dialect=dialect, column_keys=[*keys, *defaults])
    names = tuple(compiled.positiontup) if compiled.positional else tuple(compiled.binds)
    processors = tuple((key, processor) for key in names if (
        processor := table.c[key].type.dialect_impl(dialect).bind_processor(dialect)))
    results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None)
                    for column in table.c) if returning else ()
    return _Plan(compiled.string, names, frozenset(names), compiled.positional, processors,
                 defaults, results)
