"""Persist step: batched inserts that skip rows whose unique key already exists.

``INSERT ... ON CONFLICT DO NOTHING RETURNING`` (SQLite ≥ 3.35 and PostgreSQL) makes
re-sent and concurrently sent batches safe without a read-then-write race: whichever
transaction inserts a key first wins, the other sees it as a duplicate.

Batches go to the driver directly (on the session's connection, so in its transaction):
the values pass through each column's own SQLAlchemy bind processor, computed once per
table, but not through the per-row statement machinery, which costs several times the
insert itself at thousands of rows per request (``scripts/bench_ingest.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import String, Table
from sqlmodel import Session

Processor = Callable[[Any], Any]
# SQLite allows 32,766 parameters per statement; PostgreSQL 65,535.
MAX_PARAMS = 32_000


@lru_cache(maxsize=64)
def _processors(table: Table, columns: tuple[str, ...], dialect: Any) -> tuple[tuple[int, Processor], ...]:
    """``(position, processor)`` of the columns whose values need converting for the driver."""
    found = []
    for index, name in enumerate(columns):
        column_type = table.c[name].type
        bind = column_type._cached_bind_processor(dialect)
        if bind is None and isinstance(column_type, String):
            bind = str  # StrEnum members → their value (plain strings come back unchanged)
        if bind is not None:
            found.append((index, bind))
    return tuple(found)


def _prepared(
    session: Session, table: Table, rows: list[dict[str, Any]]
) -> tuple[Any, tuple[str, ...], list[list]]:
    connection = session.connection()
    columns = tuple(rows[0])
    values = [list(row.values()) for row in rows]
    for index, process in _processors(table, columns, connection.dialect):
        for row in values:
            value = row[index]
            if value is not None:
                row[index] = process(value)
    return connection, columns, values


def _sql(connection: Any, table: Table, columns: tuple[str, ...], rows: int, tail: str) -> str:
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    group = "(" + ", ".join([mark] * len(columns)) + ")"
    names = ", ".join(columns)
    return f"INSERT INTO {table.name} ({names}) VALUES {', '.join([group] * rows)} {tail}"


def insert_new(
    session: Session, table: Table, rows: list[dict[str, Any]], conflict: Sequence[str], key: str
) -> dict[Any, int]:
    """Insert ``rows`` (all with the same keys); returns ``{row[key]: id}`` for the rows inserted."""
    if not rows:
        return {}
    connection, columns, values = _prepared(session, table, rows)
    cursor = connection.connection.driver_connection.cursor()
    per_statement = max(1, MAX_PARAMS // len(columns))
    tail = f"ON CONFLICT ({', '.join(conflict)}) DO NOTHING RETURNING {key}, id"
    inserted: dict[Any, int] = {}
    for start in range(0, len(values), per_statement):
        chunk = values[start : start + per_statement]
        cursor.execute(_sql(connection, table, columns, len(chunk), tail), [v for row in chunk for v in row])
        inserted.update(cursor.fetchall())
    return inserted


def insert_rows(
    session: Session, table: Table, rows: list[dict[str, Any]], ignore_conflicts_on: Sequence[str] = ()
) -> None:
    """Insert ``rows`` (all with the same keys); with ``ignore_conflicts_on``, rows whose values in
    those (unique) columns exist already are skipped."""
    if not rows:
        return
    connection, columns, values = _prepared(session, table, rows)
    conflict = ignore_conflicts_on
    tail = f"ON CONFLICT ({', '.join(conflict)}) DO NOTHING" if conflict else ""
    cursor = connection.connection.driver_connection.cursor()
    cursor.executemany(_sql(connection, table, columns, 1, tail), values)
