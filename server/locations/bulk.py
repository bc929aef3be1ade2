"""Fast batched inserts of plain tuples (the fix ingestion hot path).

The statement is ``INSERT ... ON CONFLICT DO NOTHING`` sent with the driver's own
``executemany``; values go through each column type's bind processor, so what is stored
is byte-for-byte what the ORM would store. Aware datetimes on SQLite take a shortcut that
produces the same text as SQLAlchemy's processor in a fraction of the time (tested).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Dialect, Table
from sqlmodel import Session

from crm.types import UTCDateTime

_MARKERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def sqlite_utc_text(value: datetime | None) -> str | None:
    """What SQLAlchemy stores on SQLite for an aware datetime: naive UTC, microseconds."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _processor(table: Table, column: str, dialect: Dialect) -> Callable[[Any], Any] | None:
    kind = table.c[column].type
    if isinstance(kind, UTCDateTime) and dialect.name == "sqlite":
        return sqlite_utc_text
    return kind.dialect_impl(dialect).bind_processor(dialect)


@lru_cache(maxsize=32)
def _plan(table: Table, columns: tuple[str, ...], dialect: Dialect) -> tuple[str, list[Callable[[Any], Any] | None]]:
    marker = _MARKERS.get(dialect.paramstyle)
    if marker is None:
        raise RuntimeError(f"unsupported DB-API paramstyle {dialect.paramstyle}")
    quote = dialect.identifier_preparer.quote
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join([marker] * len(columns))}) ON CONFLICT DO NOTHING"
    )
    processors = [_processor(table, c, dialect) for c in columns]
    return sql, processors


def insert_rows(session: Session, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Insert ``rows`` (tuples in ``columns`` order); rows hitting a unique key are skipped."""
    if not rows:
        return
    connection = session.connection()
    sql, processors = _plan(table, tuple(columns), connection.dialect)
    active = [(i, p) for i, p in enumerate(processors) if p is not None]
    if active:
        converted = []
        for row in rows:
            values = list(row)
            for i, process in active:
                values[i] = process(values[i])
            converted.append(tuple(values))
        rows = converted
    connection.exec_driver_sql(sql, list(rows))
