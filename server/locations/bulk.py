"""Raw DB-API statements for the fix hot path: batched inserts, one-row upserts, UTC times.

Statements are plain SQL text built once per table and dialect and sent on the session's
DB-API connection (:class:`Raw`) with the driver's own ``execute``/``executemany``, inside
the session's transaction; values must already be in the driver's form.
Times are the only columns that need converting: :func:`db_times` turns UTC epoch
microseconds into exactly what SQLAlchemy's column type would send (text on SQLite,
aware datetimes elsewhere; tested against the ORM), and :func:`micros` reads them back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Dialect, Table
from sqlmodel import Session

from lbs.points import EPOCH, epoch_us

_MARKERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def sqlite_utc_text(value: datetime | None) -> str | None:
    """What SQLAlchemy stores on SQLite for an aware datetime: naive UTC, microseconds."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def sqlite_utc_texts(t_us: NDArray[np.int64]) -> list[str]:
    """:func:`sqlite_utc_text` for many UTC epoch-microsecond times at once."""
    text = np.datetime_as_string(np.asarray(t_us, dtype=np.int64).astype("datetime64[us]"), unit="us")
    text.view(np.uint32).reshape(text.size, -1)[:, 10] = ord(" ")  # 'T' → ' ' in the UCS-4 buffer
    return text.tolist()  # type: ignore[no-any-return]


def db_times(dialect: Dialect, t_us: NDArray[np.int64]) -> list[Any]:
    """UTC epoch microseconds as the driver takes them for a ``UTCDateTime`` column."""
    if dialect.name == "sqlite":
        return sqlite_utc_texts(t_us)
    return [EPOCH + timedelta(microseconds=t) for t in np.asarray(t_us).tolist()]


def db_time(dialect: Dialect, value: datetime) -> Any:
    return db_times(dialect, np.array([epoch_us(value)], dtype=np.int64))[0]


@lru_cache(maxsize=64)
def _processor(table: Table, column: str, dialect: Dialect) -> Callable[[Any], Any] | None:
    return table.c[column].type.dialect_impl(dialect).bind_processor(dialect)  # type: ignore[no-any-return]


def bound(dialect: Dialect, table: Table, column: str, value: Any) -> Any:
    """``value`` as SQLAlchemy sends it for ``table.column`` (through the column type)."""
    process = _processor(table, column, dialect)
    return value if process is None else process(value)


def micros(dialect: Dialect, values: Sequence[Any]) -> NDArray[np.int64]:
    """``UTCDateTime`` values as the driver returns them → UTC epoch microseconds."""
    if dialect.name == "sqlite":
        return np.array(values, dtype="datetime64[us]").astype(np.int64)
    return np.fromiter((epoch_us(v) for v in values), dtype=np.int64, count=len(values))


def marker(dialect: Dialect) -> str:
    """The driver's parameter placeholder."""
    found = _MARKERS.get(dialect.paramstyle)
    if found is None:
        raise RuntimeError(f"unsupported DB-API paramstyle {dialect.paramstyle}")
    return found


@lru_cache(maxsize=32)
def _insert_sql(table: Table, columns: tuple[str, ...], dialect: Dialect) -> str:
    quote = dialect.identifier_preparer.quote
    return (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join([marker(dialect)] * len(columns))}) ON CONFLICT DO NOTHING"
    )


@dataclass(frozen=True, slots=True)
class Raw:
    """The session's DB-API connection (inside the session's transaction) and its dialect."""

    dbapi: Any
    dialect: Dialect

    @classmethod
    def of(cls, session: Session) -> Raw:
        connection = session.connection()
        return cls(connection.connection, connection.dialect)

    def rows(self, sql: str, params: Sequence[Any]) -> list[Any]:
        cursor = self.dbapi.cursor()
        try:
            cursor.execute(sql, params)
            return cursor.fetchall()  # type: ignore[no-any-return]
        finally:
            cursor.close()

    def execute(self, sql: str, params: Sequence[Any]) -> None:
        cursor = self.dbapi.cursor()
        try:
            cursor.execute(sql, params)
        finally:
            cursor.close()

    def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        cursor = self.dbapi.cursor()
        try:
            cursor.executemany(sql, rows)
        finally:
            cursor.close()


def insert_rows(raw: Raw, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Insert ``rows`` (tuples in ``columns`` order, in the driver's form) with the driver's
    ``executemany``; rows hitting a unique key are skipped.

    ``rows`` may be an iterator (e.g. ``zip`` over columns): the driver then binds each row
    as it comes, and no list of row tuples is built.
    """
    raw.execute_many(_insert_sql(table, tuple(columns), raw.dialect), rows)


@lru_cache(maxsize=32)
def _upsert_sql(
    table: Table, columns: tuple[str, ...], conflict: tuple[str, ...], increment: tuple[str, ...],
    newer: str | None, dialect: Dialect,
) -> str:
    quote = dialect.identifier_preparer.quote
    name = quote(table.name)
    changes = ", ".join(
        f"{quote(c)} = {name}.{quote(c)} + excluded.{quote(c)}" if c in increment else f"{quote(c)} = excluded.{quote(c)}"
        for c in columns
        if c not in conflict
    )
    where = f" WHERE {name}.{quote(newer)} < excluded.{quote(newer)}" if newer else ""
    return (
        f"INSERT INTO {name} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join([marker(dialect)] * len(columns))}) "
        f"ON CONFLICT ({', '.join(quote(c) for c in conflict)}) DO UPDATE SET {changes}{where}"
    )


def upsert_row(
    raw: Raw,
    table: Table,
    values: dict[str, Any],
    *,
    conflict: Sequence[str],
    increment: Sequence[str] = (),
    newer: str | None = None,
) -> None:
    """Insert ``values`` (in the driver's form); on a ``conflict`` key clash add the
    ``increment`` columns to the stored ones and overwrite the rest — only when the
    stored ``newer`` column is smaller than the new one, when given."""
    raw.execute(_upsert_sql(table, tuple(values), tuple(conflict), tuple(increment), newer, raw.dialect),
                tuple(values.values()))
