"""Reading a customer's timeline: keyset pages over ``(customer_id, occurred_at, id)``, newest first.

The customer must be visible to the actor (``crm.access``); numbers in event data are
masked for those who see numbers masked (``capture.phone.mask``). Captured events are
enriched with their link status and, for calls, the matched recording (the first one, should
a call ever have several). A page is one statement (see :func:`_page`).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, and_, case, func, tuple_
from sqlmodel import Session, select

from capture.phone import mask
from crm.access import get_visible, scope, sees_full_numbers
from crm.communications import (
    CALL_TABLE,
    RECORDING_TABLE,
    SMS_TABLE,
    CapturedCall,
    CapturedSms,
    LinkStatus,
    Recording,
)
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


# built once: an alias's column collection is set up on first use, which costs more than the query
_SMS, _CALL = CapturedSms.__table__.alias("sms"), CapturedCall.__table__.alias("call")
_RECORDING, _MATCHED = Recording.__table__.alias("recording"), Recording.__table__.alias("matched")


def _page(
    actor: User, customer_id: int, position: tuple[datetime, int] | None, kinds: Collection[str], limit: int
) -> Select:
    """One statement for a page: the events (keyset, newest first), the customer's owner (for
    masking), each captured event's link status and the recording of each call.

    The customer's visibility is an uncorrelated ``EXISTS`` and its owner an uncorrelated
    scalar subquery, evaluated once: the plan stays a backward range scan of
    ``(customer_id, occurred_at, id)`` with a primary-key look-up per event on each side,
    on SQLite and PostgreSQL alike, however deep the page.
    """
    event, sms, call, recording, matched = TimelineEvent, _SMS, _CALL, _RECORDING, _MATCHED
    visible = scope(select(Customer.id).where(Customer.id == customer_id), actor, Customer).exists()
    owner = select(Customer.owner_id).where(Customer.id == customer_id).scalar_subquery()
    first_match = select(func.min(matched.c.id)).where(matched.c.call_id == event.source_id).scalar_subquery()
    recording_id = case(
        (event.source_table == RECORDING_TABLE, event.source_id),
        (event.source_table == CALL_TABLE, first_match),
    )
    link_status = case(
        (event.source_table == SMS_TABLE, sms.c.link_status),
        (event.source_table == CALL_TABLE, call.c.link_status),
        (event.source_table == RECORDING_TABLE, recording.c.link_status),
    )
    stmt = (
        select(
            event.id,
            event.occurred_at,
            event.kind,
            event.source_table,
            event.source_id,
            event.actor_user_id,
            event.summary,
            event.data,
            owner.label("owner_id"),
            link_status.label("link_status"),
            recording.c.id.label("recording_id"),
            recording.c.duration_s,
            recording.c.transcript_status,
        )
        .select_from(event)
        .outerjoin(sms, and_(event.source_table == SMS_TABLE, sms.c.id == event.source_id))
        .outerjoin(call, and_(event.source_table == CALL_TABLE, call.c.id == event.source_id))
        .outerjoin(recording, recording.c.id == recording_id)
        .where(event.customer_id == customer_id, visible)
        .order_by(event.occurred_at.desc(), event.id.desc())
        .limit(limit + 1)
    )
    if position is not None:
        stmt = stmt.where(tuple_(event.occurred_at, event.id) < tuple_(*position))
    if kinds:
        stmt = stmt.where(event.kind.in_(sorted(set(kinds))))
    return scope(stmt, actor, event)


def customer_timeline(
    session: Session,
    *,
    actor: User,
    customer_id: int,
    cursor: str | None = None,
    kinds: Collection[str] = (),
    limit: int = 50,
) -> TimelinePage:
    """A page of the customer's timeline; one query unless the page is empty (then: is the
    customer there for the actor at all?)."""
    try:
        position = decode_cursor(cursor) if cursor else None
    except DomainError:
        _check_visible(session, actor, customer_id)  # an invisible customer is a 404 whatever the cursor
        raise
    rows = session.connection().execute(_page(actor, customer_id, position, kinds, limit)).all()
    if not rows:
        _check_visible(session, actor, customer_id)
        return TimelinePage([], None)
    more = len(rows) > limit
    rows = rows[:limit]
    masked = not sees_full_numbers(actor, rows[0].owner_id)
    last = rows[-1] if more else None
    return TimelinePage(
        [_event(row, masked) for row in rows], encode_cursor(last.occurred_at, last.id) if last else None
    )


def _check_visible(session: Session, actor: User, customer_id: int) -> None:
    if get_visible(session, actor, Customer, customer_id) is None:
        raise NotFound("no such customer")


def _event(row: Row[Any], masked: bool) -> dict[str, Any]:
    data = dict(row.data)
    if masked:
        for key in NUMBER_KEYS:
            if data.get(key):
                data[key] = mask(str(data[key]))
    recording = None
    if row.recording_id is not None:
        recording = {
            "id": row.recording_id,
            "duration_s": row.duration_s,
            "transcript_status": row.transcript_status,
        }
    return {
        "id": row.id,
        "occurred_at": row.occurred_at,
        "kind": row.kind,
        "source_table": row.source_table,
        "source_id": row.source_id,
        "actor_user_id": row.actor_user_id,
        "summary": row.summary,
        "data": data,
        "ambiguous": row.link_status == LinkStatus.ambiguous if row.source_table in CAPTURE_TABLES else None,
        "recording": recording,
    }
