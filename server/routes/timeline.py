"""The customer timeline (keyset-paginated, scoped, masked)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query

from server.deps import CurrentUser, SessionDep
from server.routes.schemas import Read
from server.timeline import customer_timeline

router = APIRouter(prefix="/api/v1", tags=["timeline"])


class RecordingBrief(Read):
    id: int
    duration_s: float | None
    transcript_status: str


class TimelineEventRead(Read):
    id: int
    occurred_at: datetime
    kind: str
    source_table: str
    source_id: int
    actor_user_id: int | None
    summary: str
    data: dict[str, Any]
    ambiguous: bool | None = None
    recording: RecordingBrief | None = None


class TimelinePageRead(Read):
    events: list[TimelineEventRead]
    next_cursor: str | None


@router.get("/customers/{customer_id}/timeline", response_model=TimelinePageRead)
def get_timeline(
    customer_id: int,
    session: SessionDep,
    user: CurrentUser,
    cursor: str | None = Query(default=None, max_length=200, description="next_cursor of the previous page"),
    types: str | None = Query(
        default=None, max_length=200, description="Comma-separated kinds: sms,call,..."
    ),
    limit: int = Query(default=50, ge=1, le=200),
) -> Any:
    kinds = [kind.strip() for kind in (types or "").split(",") if kind.strip()]
    return customer_timeline(
        session, actor=user, customer_id=customer_id, cursor=cursor, kinds=kinds, limit=limit
    )
