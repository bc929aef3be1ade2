"""Export of any list the actor can see: the list's own scoped query, masking applied, audited.

A list kind registers an :class:`ExportSpec` (its columns and, optionally, what to fetch
per chunk of rows, such as phone numbers). Rows are read in id order, 1,000 at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select
from sqlmodel import Session, select

from crm.access import sees_full_numbers
from crm.audit import record_audit
from crm.org import User
from crm.phones import shown
from crm.tabular import TableFormat, write_table

CHUNK = 1000
Row = Any


@dataclass(frozen=True)
class ExportContext:
    actor: User
    zone: ZoneInfo
    extra: dict[str, Any] = field(default_factory=dict)

    def time(self, value: datetime | None) -> str:
        return value.astimezone(self.zone).strftime("%Y-%m-%d %H:%M") if value else ""


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[Row, ExportContext], object]


@dataclass(frozen=True)
class ExportSpec:
    model: type
    columns: Sequence[Column]
    prefetch: Callable[[Session, list[Row]], dict[str, Any]] | None = None


@dataclass(frozen=True)
class Export:
    content: bytes
    filename: str
    rows: int


def _chunks(session: Session, statement: Select, model: type) -> Iterator[list[Row]]:
    last = 0
    while True:
        rows = list(session.exec(statement.where(model.id > last).order_by(model.id).limit(CHUNK)))  # type: ignore[attr-defined]
        if not rows:
            return
        yield rows
        last = rows[-1].id


def owner_names(session: Session, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    return {
        u.id: u.display_name or u.username for u in session.exec(select(User).where(User.id.in_(user_ids)))
    }  # type: ignore[misc]


def masked_phone(number: str, owner_id: int | None, ctx: ExportContext) -> str:
    return shown(number, full=sees_full_numbers(ctx.actor, owner_id))


def export_list(
    session: Session,
    *,
    actor: User,
    kind: str,
    spec: ExportSpec,
    statement: Select,
    fmt: TableFormat,
    now: datetime,
    zone: str = "Asia/Shanghai",
    filters: dict[str, Any] | None = None,
    ip: str = "",
) -> Export:
    """Write every row of the scoped ``statement`` and audit the export (who, what, how many)."""
    tz = ZoneInfo(zone)
    count = 0

    def rows() -> Iterator[list[object]]:
        nonlocal count
        for chunk in _chunks(session, statement, spec.model):
            ctx = ExportContext(actor, tz, spec.prefetch(session, chunk) if spec.prefetch else {})
            for row in chunk:
                count += 1
                yield [column.value(row, ctx) for column in spec.columns]

    content = write_table([c.header for c in spec.columns], rows(), fmt)
    record_audit(
        session,
        action="export",
        actor_user_id=actor.id,
        target_type=kind,
        division_id=actor.division_id,
        ip=ip,
        detail={"rows": count, "format": str(fmt), "filters": filters or {}},
    )
    session.commit()
    stamp = now.astimezone(tz).strftime("%Y%m%d-%H%M")
    return Export(content, f"{kind}-{stamp}.{fmt}", count)
