"""Reading plain rows of column SELECTs (counts, sums, ids) without the ORM's per-row loading."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row
from sqlalchemy.sql import Executable
from sqlmodel import Session


def column_rows(session: Session, stmt: Executable) -> Sequence[Row[Any]]:
    """The rows of ``stmt`` (a SELECT of columns, not of models), run on the session's connection
    after flushing pending changes, so that it sees what ``session.execute`` would."""
    session.flush()
    return session.connection().execute(stmt).all()
