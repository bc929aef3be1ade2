"""``INSERT ... ON CONFLICT DO UPDATE`` on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session


def upsert(
    session: Session,
    table: Table,
    values: dict[str, Any],
    *,
    conflict: Sequence[str],
    increment: Sequence[str] = (),
    only_if: ColumnElement[bool] | None = None,
) -> None:
    """Insert ``values``; on a ``conflict`` key clash add the ``increment`` columns to the stored
    ones and overwrite the rest (only where ``only_if`` holds, when given)."""
    dialect = session.get_bind().dialect.name
    stmt = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(table).values(**values)
    changes = {
        name: (table.c[name] + stmt.excluded[name]) if name in increment else stmt.excluded[name]
        for name in values
        if name not in conflict
    }
    session.execute(stmt.on_conflict_do_update(index_elements=list(conflict), set_=changes, where=only_if))
