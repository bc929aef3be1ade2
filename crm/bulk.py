"""Bulk inserts in the caller's transaction, with or without the new ids.

On PostgreSQL rows go through ``COPY ... FROM STDIN`` (psycopg's ``cursor.copy()``): a
multi-row ``INSERT`` with tens of thousands of parameters costs psycopg more to convert
and the server more to parse than the rows themselves. Ids are drawn from the table's
sequence first, so ``COPY`` needs no ``RETURNING``. On SQLite multi-row ``INSERT``
statements are the fast path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Column, Table, func, insert, select
from sqlmodel import Session

CHUNK = 1000


def _table(model: type) -> Table:
    return model.__table__  # type: ignore[attr-defined,no-any-return]


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _default(column: Column[Any]) -> Callable[[], Any]:
    """The column's Python-side default (what Core's INSERT would fill in), else NULL."""
    default = column.default
    if default is None:
        return lambda: None
    arg = default.arg  # type: ignore[attr-defined]
    if default.is_callable:  # type: ignore[attr-defined]
        return lambda: arg(None)
    return lambda: arg


def _copy(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """COPY ``rows`` into ``table`` on the session's connection (its transaction)."""
    keys = set().union(*rows)
    columns = [c for c in table.columns if c.key in keys or c.default is not None]
    dialect = session.get_bind().dialect
    converters = [
        (c.key, _default(c), c.type._cached_bind_processor(dialect))  # type: ignore[attr-defined]
        for c in columns
    ]
    names = ", ".join(dialect.identifier_preparer.quote(c.name) for c in columns)
    driver = session.connection().connection.driver_connection
    with (
        driver.cursor() as cursor,
        cursor.copy(  # type: ignore[union-attr]
            f"COPY {dialect.identifier_preparer.format_table(table)} ({names}) FROM STDIN"
        ) as copy,
    ):
        for row in rows:
            values = []
            for key, default, process in converters:
                value = row[key] if key in row else default()
                values.append(process(value) if process is not None and value is not None else value)
            copy.write_row(values)


def insert_rows(session: Session, model: type, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts of column values; missing columns get their defaults)."""
    if not rows:
        return
    session.flush()
    table = _table(model)
    if _is_postgres(session):
        _copy(session, table, rows)
        return
    for i in range(0, len(rows), CHUNK):
        session.execute(insert(table), rows[i : i + CHUNK])


def insert_ids(session: Session, model: type, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` and return their ids in the order of ``rows``.

    SQLite: multi-row ``INSERT ... RETURNING`` does not promise the order of the returned
    rows, and asking SQLAlchemy to keep it makes SQLite insert one row per statement. Ids,
    though, are drawn in row order within a statement, so the sorted ids of one statement
    map onto its rows. PostgreSQL: the ids are taken from the sequence and copied in.
    """
    if not rows:
        return []
    table = _table(model)
    if _is_postgres(session):
        sequence = func.pg_get_serial_sequence(table.fullname, "id")
        drawn = list(
            session.scalars(select(func.nextval(sequence)).select_from(func.generate_series(1, len(rows))))
        )
        insert_rows(session, model, [{**row, "id": id_} for row, id_ in zip(rows, drawn, strict=True)])
        return drawn
    session.flush()
    ids: list[int] = []
    for i in range(0, len(rows), CHUNK):
        chunk = rows[i : i + CHUNK]
        ids += sorted(session.scalars(insert(table).returning(table.c.id), chunk).all())
    return ids
