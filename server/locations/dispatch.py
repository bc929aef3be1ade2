"""Dispatch: rank the reps who could take a request (lbs.dispatch), and assign one.

Available means: a fresh position, on duty (tracking hours), and not busy — no open task
and not in the middle of a visit (checked in and not moved away since).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, select

from crm.access import get_visible, scope
from crm.customers import Customer
from crm.errors import DomainError, Forbidden, NotFound
from crm.locations import OPEN_TASK_STATUSES, DispatchTask, RepPosition, TaskStatus
from crm.org import Role, User
from crm.timeline import add_timeline_event
from lbs.dispatch import DispatchResult, RepState, rank_reps, travel_estimate_s
from lbs.errors import LbsError, MatrixProviderError
from lbs.geo import haversine_m
from server.config import Settings
from server.locations.config import dispatch_config, matrix_provider, shift_hours
from server.locations.positions import visiting_reps
from server.logs import get_logger, log_event

logger = get_logger("locations")


@dataclass(frozen=True, slots=True)
class Target:
    lat: float
    lon: float
    customer: Customer | None


def target(session: Session, *, actor: User, customer_id: int | None, lat: float | None, lon: float | None) -> Target:
    """Where the request is: a visible customer's site, or a given point."""
    if customer_id is not None:
        customer = get_visible(session, actor, Customer, customer_id)
        if customer is None:
            raise NotFound("no such customer", field="customer_id")
        if lat is None and (customer.lat is None or customer.lon is None):
            raise DomainError("the customer has no coordinates; give lat/lon", field="customer_id")
        return Target(customer.lat if lat is None else lat, customer.lon if lon is None else lon, customer)  # type: ignore[arg-type]
    if lat is None or lon is None:
        raise DomainError("give a customer_id or lat and lon", field="lat")
    return Target(lat, lon, None)


@dataclass(frozen=True, slots=True)
class Candidates:
    result: DispatchResult
    reps: dict[int, User]
    travel_times: str


def _road_times(settings: Settings, at: Target, states: list[RepState]) -> dict[int, float] | None:
    """Travel times from each positioned rep to the target from the routing service, if configured."""
    placed = [s for s in states if s.lat is not None and s.lon is not None]
    if not settings.osrm_url or not placed:
        return None
    try:
        matrix = matrix_provider(settings)([(at.lat, at.lon), *((s.lat, s.lon) for s in placed)])  # type: ignore[misc]
    except MatrixProviderError as exc:
        log_event(logger, "dispatch.matrix.fallback", error=str(exc))
        return None
    return {s.rep_id: float(matrix.durations_s[k + 1][0]) for k, s in enumerate(placed)}  # type: ignore[misc]


def rank(session: Session, *, actor: User, at: Target, settings: Settings, now: datetime) -> Candidates:
    reps = {u.id: u for u in session.exec(scope(
        select(User).where(User.role == Role.rep, User.is_active, User.frozen_at.is_(None)), actor, User))}
    positions = {p.rep_user_id: p for p in session.exec(select(RepPosition).where(RepPosition.rep_user_id.in_(reps)))}
    busy = set(session.exec(select(DispatchTask.rep_user_id).where(
        DispatchTask.rep_user_id.in_(reps), DispatchTask.status.in_(OPEN_TASK_STATUSES))))
    busy |= set(visiting_reps(session, positions.values(), now - timedelta(seconds=settings.dispatch_visit_s)))
    hours = shift_hours(settings)
    states = [
        RepState(rep_id, p.lat if p else None, p.lon if p else None, p.time if p else None, rep_id in busy, hours)
        for rep_id in reps
        for p in [positions.get(rep_id)]
    ]
    road = _road_times(settings, at, states)
    try:
        result = rank_reps(states, at.lat, at.lon, now, dispatch_config(settings), road)
    except LbsError as exc:
        raise DomainError(str(exc), field=exc.field) from exc
    return Candidates(result, reps, "osrm" if road is not None else "straight_line")  # type: ignore[arg-type]


def assign(
    session: Session, *, actor: User, rep_id: int, at: Target, title: str, note: str, ref: str,
    due_at: datetime | None, settings: Settings, now: datetime,
) -> DispatchTask:
    """Create a task for the rep; it goes on the customer's timeline when there is a customer."""
    rep = get_visible(session, actor, User, rep_id)
    if rep is None or Role(rep.role) is not Role.rep or not rep.is_active:
        raise NotFound("no such rep", field="rep_id")
    if at.customer is not None and at.customer.division_id != rep.division_id:
        raise DomainError("the rep works in another division than the customer", field="rep_id")
    position = session.get(RepPosition, rep.id)
    distance = travel = None
    if position is not None:
        distance = haversine_m(position.lat, position.lon, at.lat, at.lon)
        travel = travel_estimate_s(distance, settings.travel_detour_factor, settings.travel_speed_mps)
    task = DispatchTask(
        division_id=rep.division_id, rep_user_id=rep.id, customer_id=at.customer.id if at.customer else None,  # type: ignore[arg-type]
        ref=ref, title=title, note=note, lat=at.lat, lon=at.lon, distance_m=distance, travel_s=travel,
        assigned_by_user_id=actor.id, created_at=now, due_at=due_at,
    )
    session.add(task)
    session.flush()
    if at.customer is not None:
        away = "" if distance is None else f"，距离 {distance / 1000:.1f} km"
        add_timeline_event(
            session, customer_id=at.customer.id, division_id=at.customer.division_id,  # type: ignore[arg-type]
            occurred_at=now, kind="dispatch", source_table="dispatch_task", source_id=task.id,  # type: ignore[arg-type]
            actor_user_id=actor.id, summary=f"派工给 {rep.display_name}：{title}{away}",
            data={"rep_user_id": rep.id, "ref": ref, "distance_m": distance, "travel_s": travel},
        )
    session.commit()
    log_event(logger, "dispatch.assign", task_id=task.id, rep_id=rep.id, customer_id=task.customer_id, ref=ref)
    return task


_NEXT = {
    TaskStatus.assigned: {TaskStatus.accepted, TaskStatus.done, TaskStatus.cancelled},
    TaskStatus.accepted: {TaskStatus.done, TaskStatus.cancelled},
}


def set_status(session: Session, *, actor: User, task_id: int, status: TaskStatus, now: datetime) -> DispatchTask:
    """Reps accept and finish their own tasks; managers may also cancel."""
    task = get_visible(session, actor, DispatchTask, task_id)
    if task is None:
        raise NotFound("no such task")
    if Role(actor.role) is Role.rep and (task.rep_user_id != actor.id or status is TaskStatus.cancelled):
        raise Forbidden("reps accept or finish their own tasks", field="status")
    if status not in _NEXT.get(TaskStatus(task.status), set()):
        raise DomainError(f"a {task.status} task cannot become {status}", field="status", status_code=409)
    closed = now if status in (TaskStatus.done, TaskStatus.cancelled) else None
    session.execute(update(DispatchTask).where(DispatchTask.id == task.id).values(status=status.value, closed_at=closed))
    session.commit()
    session.refresh(task)
    return task


def list_tasks(
    session: Session, *, actor: User, rep_id: int | None, open_only: bool, limit: int
) -> list[DispatchTask]:
    stmt = select(DispatchTask).order_by(DispatchTask.created_at.desc(), DispatchTask.id.desc()).limit(limit)
    if rep_id is not None:
        stmt = stmt.where(DispatchTask.rep_user_id == rep_id)
    if open_only:
        stmt = stmt.where(DispatchTask.status.in_(OPEN_TASK_STATUSES))
    return list(session.exec(scope(stmt, actor, DispatchTask)))
