"""Who owns a customer, and the history of every change with its reason (also on the timeline)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Index, String, func, insert, literal, null, select, update
from sqlmodel import Field, Session, SQLModel

from crm.bulk import insert_ids, insert_rows
from crm.customers import Customer
from crm.timeline import TimelineEvent
from crm.types import UTCDateTime

_CHUNK = 500


class OwnershipReason(StrEnum):
    created = "created"
    imported = "imported"
    converted = "converted"
    claimed = "claimed"
    released = "released"
    assigned = "assigned"
    reclaimed_no_followup = "reclaimed_no_followup"
    reclaimed_no_deal = "reclaimed_no_deal"
    departure = "departure"


REASON_TEXT = {
    OwnershipReason.created: "新建客户",
    OwnershipReason.imported: "导入",
    OwnershipReason.converted: "线索转化",
    OwnershipReason.claimed: "从公海领取",
    OwnershipReason.released: "放回公海",
    OwnershipReason.assigned: "分配",
    OwnershipReason.reclaimed_no_followup: "超期未跟进,自动收回公海",
    OwnershipReason.reclaimed_no_deal: "超期未成交,自动收回公海",
    OwnershipReason.departure: "离职交接",
}


class OwnershipChange(SQLModel, table=True):
    __tablename__ = "ownership_change"
    __table_args__ = (
        Index("ix_ownership_change_customer", "customer_id", "occurred_at"),
        Index("ix_ownership_change_from_user", "from_user_id", "occurred_at"),
        Index("ix_ownership_change_to_user", "to_user_id", "reason", "occurred_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id")
    division_id: int = Field(foreign_key="division.id", index=True)
    from_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    to_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    reason: OwnershipReason = Field(sa_type=String(32))
    note: str = Field(default="", max_length=500)
    actor_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    occurred_at: datetime = Field(sa_type=UTCDateTime)


@dataclass(frozen=True)
class Handover:
    """One customer changing hands: from ``from_user_id`` (None: the pool) to ``to_user_id``."""

    customer_id: int
    division_id: int
    from_user_id: int | None
    to_user_id: int | None


def set_owner(
    session: Session, customer_ids: Sequence[int], to_user_id: int | None, *, now: datetime
) -> None:
    """Move customers to an owner (or to the pool when None); resets the reclaim clock."""
    values = {
        "owner_id": to_user_id,
        "owned_since": now if to_user_id is not None else None,
        "released_at": None if to_user_id is not None else now,
        "reclaim_warned_at": None,
        "updated_at": now,
    }
    for i in range(0, len(customer_ids), _CHUNK):
        chunk = list(customer_ids[i : i + _CHUNK])
        session.execute(update(Customer).where(Customer.id.in_(chunk)).values(**values))


def record_handovers(
    session: Session,
    handovers: Sequence[Handover],
    *,
    reason: OwnershipReason,
    actor_user_id: int | None,
    now: datetime,
    note: str = "",
) -> int:
    """Write the history rows and their timeline events (the caller's transaction commits)."""
    if not handovers:
        return 0
    rows = [
        {
            "customer_id": h.customer_id,
            "division_id": h.division_id,
            "from_user_id": h.from_user_id,
            "to_user_id": h.to_user_id,
            "reason": reason,
            "note": note[:500],
            "actor_user_id": actor_user_id,
            "occurred_at": now,
        }
        for h in handovers
    ]
    summary = REASON_TEXT[reason] + (f": {note}" if note else "")
    for i in range(0, len(rows), _CHUNK):
        chunk = rows[i : i + _CHUNK]
        ids = insert_ids(session, OwnershipChange, chunk)
        events = [
            {
                "customer_id": row["customer_id"],
                "division_id": row["division_id"],
                "occurred_at": now,
                "kind": "ownership",
                "source_table": OwnershipChange.__tablename__,
                "source_id": change_id,
                "actor_user_id": actor_user_id,
                "summary": summary[:500],
                "data": {"from": row["from_user_id"], "to": row["to_user_id"], "reason": str(reason)},
                "created_at": now,
            }
            for row, change_id in zip(chunk, ids, strict=True)
        ]
        insert_rows(session, TimelineEvent, events)
    return len(rows)


def hand_over(
    session: Session,
    handovers: Sequence[Handover],
    *,
    reason: OwnershipReason,
    actor_user_id: int | None,
    now: datetime,
    note: str = "",
) -> int:
    """Set the new owners and record the history, grouped by receiving owner."""
    by_target: dict[int | None, list[int]] = {}
    for h in handovers:
        by_target.setdefault(h.to_user_id, []).append(h.customer_id)
    for to_user_id, ids in by_target.items():
        set_owner(session, ids, to_user_id, now=now)
    return record_handovers(
        session, handovers, reason=reason, actor_user_id=actor_user_id, now=now, note=note
    )


def _json_object(session: Session, **pairs: Any) -> Any:
    """A JSON object built in SQL (the function differs between SQLite and PostgreSQL)."""
    build = func.json_build_object if session.get_bind().dialect.name == "postgresql" else func.json_object
    return build(*(item for key, value in pairs.items() for item in (literal(key), value)))


def release_matching(
    session: Session,
    condition: ColumnElement[bool],
    *,
    reason: OwnershipReason,
    now: datetime,
    note: str = "",
) -> dict[int, int]:
    """Move every owned customer matching ``condition`` to the pool in three set-based statements
    (history, timeline, owner); returns how many each former owner lost. For jobs over the whole book."""
    history = OwnershipChange.__table__  # type: ignore[attr-defined]
    customer = Customer.__table__  # type: ignore[attr-defined]
    before = session.scalar(select(func.coalesce(func.max(history.c.id), 0)))
    session.execute(
        insert(history).from_select(
            [
                "customer_id",
                "division_id",
                "from_user_id",
                "to_user_id",
                "reason",
                "note",
                "actor_user_id",
                "occurred_at",
            ],
            select(
                customer.c.id,
                customer.c.division_id,
                customer.c.owner_id,
                null(),
                literal(str(reason)),
                literal(note[:500]),
                null(),
                literal(now, UTCDateTime()),
            ).where(condition, customer.c.owner_id.is_not(None)),
        )
    )
    mine = (history.c.id > before) & (history.c.reason == str(reason)) & (history.c.occurred_at == now)
    summary = (REASON_TEXT[reason] + (f": {note}" if note else ""))[:500]
    session.execute(
        insert(TimelineEvent.__table__).from_select(  # type: ignore[attr-defined]
            [
                "customer_id",
                "division_id",
                "occurred_at",
                "kind",
                "source_table",
                "source_id",
                "summary",
                "data",
                "created_at",
            ],
            select(
                history.c.customer_id,
                history.c.division_id,
                literal(now, UTCDateTime()),
                literal("ownership"),
                literal(OwnershipChange.__tablename__),
                history.c.id,
                literal(summary),
                _json_object(
                    session, **{"from": history.c.from_user_id, "to": null(), "reason": literal(str(reason))}
                ),
                literal(now, UTCDateTime()),
            ).where(mine),
        )
    )
    session.execute(
        update(customer)
        .where(customer.c.id.in_(select(history.c.customer_id).where(mine)))
        .values(owner_id=None, owned_since=None, released_at=now, reclaim_warned_at=None, updated_at=now)
    )
    lost = select(history.c.from_user_id, func.count()).where(mine).group_by(history.c.from_user_id)
    counts: dict[int, int] = {row[0]: row[1] for row in session.execute(lost)}
    session.expire_all()  # the rows changed behind the session's back
    return counts
