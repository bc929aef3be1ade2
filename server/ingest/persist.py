"""Persist step: batched inserts that skip rows whose unique key already exists.

``INSERT ... ON CONFLICT DO NOTHING RETURNING`` (SQLite ≥ 3.35 and PostgreSQL) makes
re-sent and concurrently sent batches safe without a read-then-write race: whichever
transaction inserts a key first wins, the other sees it as a duplicate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session


def _insert(session: Session, table: Table) -> Any:
    dialect = session.get_bind().dialect.name
    return (sqlite.insert if dialect == "sqlite" else postgresql.insert)(table)


def insert_new(
    session: Session, table: Table, rows: list[dict[str, Any]], conflict: Sequence[str], key: str
) -> dict[Any, int]:
    """Insert ``rows``; returns ``{row[key]: id}`` for the rows actually inserted."""
    if not rows:
        return {}
    stmt = _insert(session, table).on_conflict_do_nothing(index_elements=list(conflict))
    result = session.execute(stmt.returning(table.c[key], table.c.id), rows)
    return dict(result.all())


def insert_ignoring(
    session: Session, table: Table, rows: list[dict[str, Any]], conflict: Sequence[str]
) -> None:
    """Insert ``rows``, silently skipping those whose ``conflict`` columns already exist."""
    if rows:
        session.execute(_insert(session, table).on_conflict_do_nothing(index_elements=list(conflict)), rows)
