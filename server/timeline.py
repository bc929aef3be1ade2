"""Reading a customer's timeline: keyset pages over ``(customer_id, occurred_at, id)``, newest first.

The customer must be visible to the actor (``crm.access``); numbers in event data are
masked for those who see numbers masked (``capture.phone.mask``). Captured events are
enriched with their link status and, for calls, the matched recording.
"""

from __future__ import annotations

import base64
import binascii
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, tuple_
from sqlmodel import Session, select

from capture.phone import mask
from crm.access import get_visible, scope, sees_full_numbers
from crm.communications import CALL_TABLE, RECORDING_TABLE, LinkStatus, Recording
from crm.customers import Customer
from crm.errors import DomainError, NotFound
from crm.linking import CAPTURE_TABLES
from crm.org import User
from crm.timeline import TimelineEvent

NUMBER_KEYS = ("number",)


@dataclass(frozen=True)
class TimelinePage:
    events: list[dict[str, Any]]
    next_cursor: str | None


def encode_cursor(occurred_at: datetime, event_id: int) -> str:
    return base64.urlsafe_b64encode(f"{occurred_at.isoformat()}|{event_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, _, event_id = text.partition("|")
        at = datetime.fromisoformat(stamp)
        if at.tzinfo is None:
            raise ValueError("naive")
        return at, int(event_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise DomainError("invalid cursor", field="cursor") from None


def customer_timeline(
    session: Session,
    *,
    actor: User,
    customer_id: int,
    cursor: str | None = None,
    kinds: Collection[str] = (),
    limit: int = 50,
) -> TimelinePage:
    customer = get_visible(session, actor, Customer, customer_id)
    if customer is None:
        raise NotFound("no such customer")
    stmt = select(TimelineEvent).where(TimelineEvent.customer_id == customer_id)
    if cursor:
        at, event_id = decode_cursor(cursor)
        stmt = stmt.where(tuple_(TimelineEvent.occurred_at, TimelineEvent.id) < tuple_(at, event_id))
    if kinds:
        stmt = stmt.where(TimelineEvent.kind.in_(sorted(set(kinds))))
    stmt = stmt.order_by(TimelineEvent.occurred_at.desc(), TimelineEvent.id.desc()).limit(limit + 1)
    rows = list(session.exec(scope(stmt, actor, TimelineEvent)))
    more = len(rows) > limit
    rows = rows[:limit]
    masked = not sees_full_numbers(actor, customer.owner_id)
    events = [_event(row, masked) for row in rows]
    _enrich(session, events)
    last = rows[-1] if more else None
    return TimelinePage(events, encode_cursor(last.occurred_at, last.id) if last else None)  # type: ignore[arg-type]


def _event(row: TimelineEvent, masked: bool) -> dict[str, Any]:
    data = dict(row.data)
    if masked:
        for key in NUMBER_KEYS:
            if data.get(key):
                data[key] = mask(str(data[key]))
    return {
        "id": row.id,
        "occurred_at": row.occurred_at,
        "kind": row.kind,
        "source_table": row.source_table,
        "source_id": row.source_id,
        "actor_user_id": row.actor_user_id,
        "summary": row.summary,
        "data": data,
        "ambiguous": None,
        "recording": None,
    }


def _enrich(session: Session, events: list[dict[str, Any]]) -> None:
    """Link status of captured events, and the recording of each call (one query per table)."""
    by_table: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        if event["source_table"] in CAPTURE_TABLES:
            by_table[event["source_table"]].append(event)
    for table, items in by_table.items():
        model = CAPTURE_TABLES[table]
        ids = {event["source_id"] for event in items}
        status = dict(session.execute(select(model.id, model.link_status).where(model.id.in_(ids))).all())
        for event in items:
            event["ambiguous"] = status.get(event["source_id"]) == LinkStatus.ambiguous
    calls = {event["source_id"] for event in by_table.get(CALL_TABLE, [])}
    own = {event["source_id"] for event in by_table.get(RECORDING_TABLE, [])}
    if not calls and not own:
        return
    found = session.exec(
        select(Recording).where(or_(Recording.call_id.in_(calls), Recording.id.in_(own)))  # type: ignore[union-attr]
    )
    by_call, by_id = {}, {}
    for rec in found:
        by_id[rec.id] = rec
        if rec.call_id is not None:
            by_call[rec.call_id] = rec
    for event in by_table.get(CALL_TABLE, []) + by_table.get(RECORDING_TABLE, []):
        lookup = by_call if event["source_table"] == CALL_TABLE else by_id
        rec = lookup.get(event["source_id"])
        if rec is not None:
            event["recording"] = {
                "id": rec.id,
                "duration_s": rec.duration_s,
                "transcript_status": rec.transcript_status,
            }
