"""Re-sent records whose state changed on the phone update the row stored for them.

A record's key leaves out what the phone changes in place (an SMS's ``type`` goes from
outbox or queued to sent or failed, with its ``status`` and ``error_code``), so the re-sent
row is the stored row: it is a duplicate for insertion, and those columns are brought up to
date here. Only rows whose values differ are written; a plain re-sent batch costs one read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, select, update
from sqlmodel import Session


def refresh_changed(
    session: Session, table: Table, device_id: int, rows: Sequence[Mapping[str, Any]], names: tuple[str, ...]
) -> dict[str, int]:
    """Update the stored rows (same device and ``source_key``) whose ``names`` columns differ from
    ``rows``; the ``source_key`` → id of each updated row."""
    if not rows or not names:
        return {}
    columns = [table.c[name] for name in names]
    stored = {
        key: (row_id, tuple(values))
        for key, row_id, *values in session.execute(
            select(table.c.source_key, table.c.id, *columns).where(
                table.c.device_id == device_id,
                table.c.source_key.in_([row["source_key"] for row in rows]),
            )
        )
    }
    updated: dict[str, int] = {}
    for row in rows:
        found = stored.get(row["source_key"])
        new = tuple(row[name] for name in names)
        if found is None or found[1] == new:
            continue
        session.execute(
            update(table).where(table.c.id == found[0]).values(dict(zip(names, new, strict=True)))
        )
        updated[row["source_key"]] = found[0]
    return updated
