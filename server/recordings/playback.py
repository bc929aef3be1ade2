"""Who may read a recording, and which bytes of it (HTTP ``Range``)."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlmodel import Session

from crm.access import get_visible
from crm.communications import CALL_TABLE, RECORDING_TABLE, Recording
from crm.customers import Customer
from crm.errors import DomainError, NotFound
from crm.org import User
from crm.timeline import TimelineEvent

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def linked_customer_ids(session: Session, recording: Recording) -> list[int]:
    """The customers whose timeline shows the recording (through its call, or itself)."""
    table, source_id = (
        (CALL_TABLE, recording.call_id) if recording.call_id else (RECORDING_TABLE, recording.id)
    )
    stmt = select(TimelineEvent.customer_id).where(
        TimelineEvent.source_table == table, TimelineEvent.source_id == source_id
    )
    return list(session.execute(stmt).scalars())


def visible_recording(session: Session, actor: User, recording_id: int) -> tuple[Recording, Customer | None]:
    """The recording if the actor may see it: in their scope, or on a customer's timeline they may see.

    Also returns the visible linked customer (it decides whether numbers are masked).
    """
    recording = session.get(Recording, recording_id)
    if recording is None:
        raise NotFound("no such recording")
    customers = [
        c
        for cid in linked_customer_ids(session, recording)
        if (c := get_visible(session, actor, Customer, cid))
    ]
    in_scope = get_visible(session, actor, Recording, recording_id) is not None
    if not in_scope and not customers:
        raise NotFound("no such recording")
    return recording, (customers[0] if customers else None)


class RangeNotSatisfiable(DomainError):
    status_code = 416


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(start, end)`` inclusive for a single ``bytes=`` range; None for the whole file.

    Several ranges are answered with the whole file (allowed by RFC 9110).
    """
    if not header or "," in header:
        return None
    m = _RANGE.match(header.strip())
    if m is None or m.groups() == ("", ""):
        raise RangeNotSatisfiable(f"unsupported Range header {header[:40]!r}", field="Range")
    first, last = m.groups()
    if first == "":
        start, end = max(0, size - int(last)), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise RangeNotSatisfiable(f"range outside the file's {size} bytes", field="Range")
    return start, end
