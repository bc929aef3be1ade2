"""Plan reps' days on a real solver (lbs.routing: VROOM by default, OR-Tools on request).

The solver runs in the request's worker thread with a time limit capped by the settings,
and at most ``route_max_concurrent`` plans are solved at once (more get 429), so planning
never ties up the server for long.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from crm.access import get_visible, scope
from crm.customers import Customer
from crm.errors import DomainError, NotFound
from crm.locations import RepPosition, RoutePlan
from crm.org import Role, User
from lbs.errors import LbsError, MatrixProviderError
from lbs.routing import PlanCustomer, PlanRep, StraightLineMatrix, TimeWindow, plan_routes
from lbs.routing import RoutePlan as SolvedPlan
from server.config import Settings
from server.locations.config import matrix_provider, shift_hours
from server.locations.plans import PlanInputs, save_plan
from server.logs import get_logger, log_event

logger = get_logger("locations")
_slots: dict[int, threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class RepAsk:
    rep_id: int
    start: tuple[float, float] | None = None
    end: tuple[float, float] | None = None
    shift_start: time | None = None
    shift_end: time | None = None
    max_visits: int | None = None


@dataclass(frozen=True, slots=True)
class CustomerAsk:
    customer_id: int
    service_s: int = 1800
    windows: tuple[tuple[time, time], ...] = ()
    priority: int = 0


@dataclass(frozen=True, slots=True)
class PlanAsk:
    day: date
    reps: tuple[RepAsk, ...]
    customers: tuple[CustomerAsk, ...]
    solver: str | None = None
    time_limit_s: float | None = None
    save: bool = False


@dataclass(frozen=True, slots=True)
class PlanOutcome:
    solved: SolvedPlan
    customers: dict[int, Customer]
    no_location: tuple[int, ...]
    travel_times: str  # "osrm" or "straight_line"
    inputs: tuple[PlanInputs, ...]
    saved: tuple[RoutePlan, ...] = field(default=())


def _slot(size: int) -> threading.BoundedSemaphore:
    with _slots_lock:
        return _slots.setdefault(size, threading.BoundedSemaphore(size))


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, zone)


def _rep_inputs(session: Session, actor: User, ask: RepAsk, day: date, settings: Settings) -> PlanInputs:
    rep = get_visible(session, actor, User, ask.rep_id)
    if rep is None or Role(rep.role) is not Role.rep:
        raise NotFound(f"no such rep: {ask.rep_id}", field="reps")
    start = ask.start
    if start is None and settings.office_lat is not None and settings.office_lon is not None:
        start = (settings.office_lat, settings.office_lon)
    if start is None and (position := session.get(RepPosition, rep.id)) is not None:
        start = (position.lat, position.lon)
    if start is None:
        raise DomainError(f"rep {rep.id}: give a start point (no office configured, no known position)",
                          field="reps.start")
    hours = shift_hours(settings)
    zone = ZoneInfo(settings.time_zone)
    begin = _at(day, ask.shift_start or hours.start, zone)
    finish = _at(day, ask.shift_end or hours.end, zone)
    if finish <= begin:
        finish += timedelta(days=1)
    return PlanInputs(rep, day, start, ask.end or start, begin, finish, {}, {})


def _customers(session: Session, actor: User, asks: Sequence[CustomerAsk]) -> dict[int, Customer]:
    ids = [a.customer_id for a in asks]
    if len(set(ids)) != len(ids):
        raise DomainError("each customer may appear once", field="customers")
    found = {c.id: c for c in session.exec(scope(select(Customer).where(Customer.id.in_(ids)), actor, Customer))}
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(f"no such customer: {missing[0]}", field="customers")
    return found  # type: ignore[return-value]


def plan_day(session: Session, *, actor: User, ask: PlanAsk, settings: Settings, now: datetime) -> PlanOutcome:
    if not ask.reps:
        raise DomainError("at least one rep", field="reps")
    if len(ask.customers) > settings.route_max_customers:
        raise DomainError(f"at most {settings.route_max_customers} customers", field="customers")
    inputs = [_rep_inputs(session, actor, r, ask.day, settings) for r in ask.reps]
    customers = _customers(session, actor, ask.customers)
    zone = ZoneInfo(settings.time_zone)
    plan_customers, no_location = [], []
    windows: dict[int, tuple[TimeWindow, ...]] = {}
    try:
        for a in ask.customers:
            c = customers[a.customer_id]
            if c.lat is None or c.lon is None:
                no_location.append(a.customer_id)
                continue
            windows[a.customer_id] = tuple(TimeWindow(_at(ask.day, s, zone), _at(ask.day, e, zone)) for s, e in a.windows)
            plan_customers.append(PlanCustomer(a.customer_id, c.lat, c.lon, a.service_s, windows[a.customer_id],
                                               a.priority))
        reps = [PlanRep(i.rep.id, i.start, i.shift_start, i.shift_end, i.end, r.max_visits)
                for i, r in zip(inputs, ask.reps, strict=True)]
    except LbsError as exc:
        raise DomainError(str(exc), field=exc.field) from exc
    limit = min(ask.time_limit_s or settings.route_time_limit_s, settings.route_max_time_limit_s)
    solver = ask.solver or settings.route_solver
    session.commit()  # end the read transaction: nothing is held while the solver runs
    slot = _slot(settings.route_max_concurrent)
    if not slot.acquire(blocking=False):
        raise DomainError("the route planner is busy; retry shortly", status_code=429)
    try:
        provider, source = matrix_provider(settings), "osrm" if settings.osrm_url else "straight_line"
        try:
            solved = plan_routes(reps, plan_customers, matrix_provider=provider, solver=solver, time_limit_s=limit)
        except MatrixProviderError as exc:
            log_event(logger, "route.matrix.fallback", error=str(exc))
            fallback = StraightLineMatrix(settings.travel_detour_factor, settings.travel_speed_mps)
            solved = plan_routes(reps, plan_customers, matrix_provider=fallback, solver=solver, time_limit_s=limit)
            source = "straight_line"
    except LbsError as exc:
        raise DomainError(str(exc), field=exc.field) from exc
    finally:
        slot.release()
    for i in inputs:
        i.service_s.update({a.customer_id: a.service_s for a in ask.customers})
        i.windows.update(windows)
    saved: list[RoutePlan] = []
    if ask.save:
        for i, route in zip(inputs, solved.routes, strict=True):
            saved.append(save_plan(session, inputs=i, route=route, unassigned=solved.unassigned, solver=solved.solver,
                                   created_by=actor, now=now))
        session.commit()
    log_event(logger, "route.plan", reps=len(reps), customers=len(plan_customers), solver=solved.solver,
              solve_s=round(solved.solve_s, 3), unassigned=len(solved.unassigned) + len(no_location))
    return PlanOutcome(solved, customers, tuple(no_location), source, tuple(inputs), tuple(saved))
