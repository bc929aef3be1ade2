"""Dispatch of requests to field reps (docs/locations.md#dispatch)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, Field

from crm.locations import DispatchTask, TaskStatus
from crm.org import Role, User
from crm.types import utcnow
from server.deps import CurrentUser, SessionDep, SettingsDep, require_roles
from server.locations.dispatch import assign, list_tasks, rank, set_status, target
from server.routes.schemas import Read, Strict

router = APIRouter(prefix="/api/v1/dispatch", tags=["dispatch"])
Dispatcher = Annotated[User, Depends(require_roles(Role.executive, Role.division_head, Role.division_admin))]


class RankedRead(Read):
    rep_id: int
    name: str
    distance_m: float
    travel_s: float
    fix_age_s: float


class ExcludedRead(Read):
    rep_id: int
    name: str
    reasons: list[str]
    distance_m: float | None


class CandidatesRead(Read):
    lat: float
    lon: float
    travel_times: str = Field(description="osrm or straight_line")
    ranked: list[RankedRead]
    excluded: list[ExcludedRead]


class AssignIn(Strict):
    rep_id: int
    customer_id: int | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    title: str = Field(min_length=1, max_length=200)
    note: str = Field(default="", max_length=1000)
    ref: str = Field(default="", max_length=64, description="What it serves, e.g. ticket:42.")
    due_at: AwareDatetime | None = None


class TaskRead(Read):
    id: int
    rep_user_id: int
    customer_id: int | None
    ref: str
    title: str
    note: str
    lat: float
    lon: float
    status: str
    distance_m: float | None
    travel_s: float | None
    assigned_by_user_id: int | None
    created_at: datetime
    due_at: datetime | None
    closed_at: datetime | None


class StatusIn(Strict):
    status: TaskStatus


@router.get("/candidates", response_model=CandidatesRead)
def candidates(
    session: SessionDep, user: Dispatcher, settings: SettingsDep, customer_id: int | None = None,
    lat: float | None = Query(None, ge=-90, le=90), lon: float | None = Query(None, ge=-180, le=180),
) -> CandidatesRead:
    """Reps for a request at a customer (or a point): available ones ranked by travel time (or
    distance), the others with their reasons (no_position, stale_position, off_duty, busy)."""
    at = target(session, actor=user, customer_id=customer_id, lat=lat, lon=lon)
    found = rank(session, actor=user, at=at, settings=settings, now=utcnow())
    names = {rep_id: rep.display_name for rep_id, rep in found.reps.items()}
    return CandidatesRead(
        lat=at.lat, lon=at.lon, travel_times=found.travel_times,
        ranked=[RankedRead(rep_id=r.rep_id, name=names[r.rep_id], distance_m=round(r.distance_m, 1),  # type: ignore[index]
                           travel_s=round(r.travel_s), fix_age_s=round(r.fix_age_s)) for r in found.result.ranked],
        excluded=[ExcludedRead(rep_id=e.rep_id, name=names[e.rep_id], reasons=[x.value for x in e.reasons],  # type: ignore[index]
                               distance_m=e.distance_m) for e in found.result.excluded],
    )


@router.post("/tasks", response_model=TaskRead, status_code=201)
def create_task(body: AssignIn, session: SessionDep, user: Dispatcher, settings: SettingsDep) -> DispatchTask:
    """Assign a request to a rep: creates the task and a timeline event on the customer."""
    at = target(session, actor=user, customer_id=body.customer_id, lat=body.lat, lon=body.lon)
    return assign(session, actor=user, rep_id=body.rep_id, at=at, title=body.title, note=body.note, ref=body.ref,
                  due_at=body.due_at, settings=settings, now=utcnow())


@router.get("/tasks", response_model=list[TaskRead])
def get_tasks(
    session: SessionDep, user: CurrentUser, rep_id: int | None = None, open_only: bool = False,
    limit: int = Query(200, ge=1, le=2000),
) -> list[DispatchTask]:
    """Visible tasks, newest first (a rep sees their own)."""
    return list_tasks(session, actor=user, rep_id=rep_id, open_only=open_only, limit=limit)


@router.post("/tasks/{task_id}/status", response_model=TaskRead)
def post_status(task_id: int, body: StatusIn, session: SessionDep, user: CurrentUser) -> DispatchTask:
    """assigned → accepted → done; managers may also cancel an open task."""
    return set_status(session, actor=user, task_id=task_id, status=body.status, now=utcnow())
