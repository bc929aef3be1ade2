"""Persist step: batched inserts that skip rows whose unique key already exists.

``INSERT ... ON CONFLICT DO NOTHING RETURNING`` (SQLite ≥ 3.35 and PostgreSQL) makes
re-sent and concurrently sent batches safe without a read-then-write race: whichever
transaction inserts a key first wins, the other sees it as a duplicate.

Batches go to the driver directly (on the session's connection, so in its transaction),
column by column: each column's own SQLAlchemy bind processor (looked up once per table)
converts a whole column in one pass, and a value shared by every row (the batch's device,
its arrival time) is converted once. PostgreSQL gets one array per column (``INSERT ... SELECT * FROM
unnest(...)``): a short statement whatever the batch size, which the driver does not have
to scan for thousands of placeholders. SQLite gets multi-row ``VALUES`` up to its
parameter limit. Both beat the per-row statement machinery several times over at thousands
of rows per request (``scripts/bench_ingest.py``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, String, Table
from sqlmodel import Session

from crm.types import UTCDateTime

Processor = Callable[[Any], Any]
# SQLite allows 32,766 parameters per statement.
MAX_SQLITE_PARAMS = 32_000


Columns = Mapping[str, Sequence[Any]]


def sqlite_utc_text(value: datetime) -> str:
    """An aware datetime as SQLite stores a ``UTCDateTime`` (``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC):
    what its bind processor and SQLAlchemy's SQLite ``DATETIME`` make of it, without the
    ``%`` format of seven fields (a quarter fewer instructions)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given where an aware UTC datetime is required")
    utc = value.astimezone(UTC)
    text = str(utc)[:-6]  # without "+00:00"; str() leaves out a zero microsecond
    return text if utc.microsecond else text + ".000000"


@lru_cache(maxsize=256)
def _processor(table: Table, name: str, dialect: Any) -> Processor | None:
    """What turns a value of this column into what the driver takes (None: nothing to do)."""
    column_type = table.c[name].type
    if isinstance(column_type, UTCDateTime) and dialect.name == "sqlite":
        return sqlite_utc_text
    if isinstance(column_type, JSON):  # text on both backends, also inside PostgreSQL arrays
        return getattr(dialect, "_json_serializer", None) or json.dumps
    bind = column_type._cached_bind_processor(dialect)
    if bind is None and isinstance(column_type, String):
        return str  # StrEnum members → their value (plain strings come back unchanged)
    return bind


@lru_cache(maxsize=256)
def _array_type(table: Table, name: str, dialect: Any) -> str:
    """The PostgreSQL array type a column's values travel in; lengths dropped so that a too-long
    value fails on insert as it would row by row instead of being cut by the cast."""
    return re.sub(r"\(.*?\)", "", table.c[name].type.compile(dialect=dialect)) + "[]"


def _converted(values: Sequence[Any], process: Processor) -> list[Any]:
    """``process`` over a column; a value shared by every row (the same object) is converted once."""
    first = values[0]
    if values[-1] is first and all(value is first for value in values):
        return [None if first is None else process(first)] * len(values)
    return [None if value is None else process(value) for value in values]


def _driver_columns(dialect: Any, table: Table, columns: Columns) -> list[list[Any]]:
    converted = []
    for name, values in columns.items():
        process = _processor(table, name, dialect)
        converted.append(list(values) if process is None else _converted(values, process))
    return converted


def _left_to_default(table: Table, name: str, values: Sequence[Any]) -> bool:
    """A nullable column without a server default that is NULL in every row: left out of the
    statement, the database writes the NULLs itself (nothing to bind, row by row)."""
    column = table.c[name]
    return column.nullable and column.server_default is None and values.count(None) == len(values)


def _execute(session: Session, table: Table, columns: Columns, tail: str) -> list[tuple[Any, ...]]:
    """Insert the columns (lists of equal length); the rows ``tail`` returns."""
    if not columns or not next(iter(columns.values())):
        return []
    columns = {name: values for name, values in columns.items() if not _left_to_default(table, name, values)}
    connection = session.connection()
    dialect = connection.dialect
    names = tuple(columns)
    values = _driver_columns(dialect, table, columns)
    cursor = connection.connection.driver_connection.cursor()
    head = f"INSERT INTO {table.name} ({', '.join(names)})"
    if dialect.name == "postgresql":
        arrays = ", ".join(f"%s::{_array_type(table, name, dialect)}" for name in names)
        cursor.execute(f"{head} SELECT * FROM unnest({arrays}) {tail}", values)
        return cursor.fetchall() if cursor.description else []
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    group = "(" + ", ".join([mark] * len(names)) + ")"
    width, count = len(names), len(values[0])
    per_statement = max(1, MAX_SQLITE_PARAMS // width)
    returned: list[tuple[Any, ...]] = []
    for start in range(0, count, per_statement):
        rows = min(per_statement, count - start)
        params: list[Any] = [None] * (rows * width)
        for position, column in enumerate(values):  # row-major, filled a column at a time
            params[position::width] = column[start : start + rows]
        cursor.execute(f"{head} VALUES {', '.join([group] * rows)} {tail}", params)
        if cursor.description:
            returned += cursor.fetchall()
    return returned


def insert_new(
    session: Session, table: Table, columns: Columns, conflict: Sequence[str], key: str
) -> dict[Any, int]:
    """Insert the rows given as ``columns``; returns ``{key value: id}`` of the rows inserted (rows whose
    ``conflict`` columns exist already are skipped)."""
    tail = f"ON CONFLICT ({', '.join(conflict)}) DO NOTHING RETURNING {key}, id"
    return dict(_execute(session, table, columns, tail))  # type: ignore[arg-type]


def insert_columns(
    session: Session, table: Table, columns: Columns, ignore_conflicts_on: Sequence[str] = ()
) -> None:
    """Insert the rows given as ``columns``; with ``ignore_conflicts_on``, rows whose values in those
    (unique) columns exist already are skipped."""
    conflict = ignore_conflicts_on
    _execute(session, table, columns, f"ON CONFLICT ({', '.join(conflict)}) DO NOTHING" if conflict else "")


def as_columns(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Rows given as dicts (all with the same keys) as columns."""
    return {name: [row[name] for row in rows] for name in rows[0]} if rows else {}


def insert_rows(
    session: Session, table: Table, rows: list[dict[str, Any]], ignore_conflicts_on: Sequence[str] = ()
) -> None:
    """:func:`insert_columns` for rows given as dicts (all with the same keys)."""
    if rows:
        insert_columns(session, table, as_columns(rows), ignore_conflicts_on)


def upsert_changed(
    session: Session,
    table: Table,
    columns: Columns,
    *,
    conflict: Sequence[str],
    compare: str,
    assignments: Mapping[str, str],
    key: str,
) -> dict[Any, int]:
    """Insert the rows given as ``columns``; a row whose ``conflict`` columns exist already updates the
    stored row (``assignments``: column → SQL expression, ``excluded.<column>`` is the new value) only
    when its ``compare`` column differs. Returns ``{key value: id}`` of the rows inserted or updated:
    a row left out was already stored as it is (also when a concurrent transaction stored it first)."""
    sets = ", ".join(f"{name} = {expression}" for name, expression in assignments.items())
    tail = (
        f"ON CONFLICT ({', '.join(conflict)}) DO UPDATE SET {sets} "
        f"WHERE {table.name}.{compare} <> excluded.{compare} RETURNING {key}, id"
    )
    return dict(_execute(session, table, columns, tail))  # type: ignore[arg-type]
