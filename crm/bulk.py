"""Bulk inserts that need the new ids back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

CHUNK = 1000


def insert_ids(session: Session, model: type, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` (all columns given) and return their ids in the order of ``rows``.

    Multi-row ``INSERT ... RETURNING`` does not promise the order of the returned rows, and
    asking SQLAlchemy to keep it makes SQLite insert one row per statement. Ids, though,
    are drawn in row order within a statement (SQLite rowids, PostgreSQL sequences), so
    the sorted ids of one statement map onto its rows.
    """
    table = model.__table__  # type: ignore[attr-defined]
    ids: list[int] = []
    for i in range(0, len(rows), CHUNK):
        chunk = rows[i : i + CHUNK]
        ids += sorted(session.scalars(insert(table).returning(table.c.id), chunk).all())
    return ids
