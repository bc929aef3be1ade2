"""Day route planning (docs/locations.md#route-planning)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from fastapi import APIRouter, Query
from pydantic import Field

from crm.errors import NotFound
from crm.types import utcnow
from lbs.coords import CoordSystem, convert
from lbs.routing import SolverName
from server.deps import CurrentUser, SessionDep, SettingsDep
from server.locations.planning import CustomerAsk, PlanAsk, PlanOutcome, RepAsk, plan_day
from server.locations.plans import active_plan, plan_customers
from server.routes.schemas import Read, Strict

router = APIRouter(prefix="/api/v1/route-plans", tags=["route planning"])


class PointIn(Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class RepIn(Strict):
    rep_id: int
    start: PointIn | None = Field(default=None, description="Default: the office, else the rep's last position.")
    end: PointIn | None = Field(default=None, description="Default: back to start.")
    shift_start: time | None = Field(default=None, description="Local time; default: working hours.")
    shift_end: time | None = None
    max_visits: int | None = Field(default=None, ge=0, le=500)


class WindowIn(Strict):
    start: time
    end: time


class CustomerIn(Strict):
    customer_id: int
    service_min: int = Field(default=30, ge=0, le=24 * 60)
    windows: list[WindowIn] = Field(default_factory=list, max_length=8, description="Local times; empty: any.")
    priority: int = Field(default=0, ge=0, le=100, description="Kept first when not everything fits.")


class PlanIn(Strict):
    day: date
    reps: list[RepIn] = Field(min_length=1, max_length=50)
    customers: list[CustomerIn] = Field(max_length=1000)
    solver: SolverName | None = None
    time_limit_s: float | None = Field(default=None, gt=0, description="Capped by FIELDCRM_ROUTE_MAX_TIME_LIMIT_S.")
    save: bool = Field(default=False, description="Store each rep's route as the day's active plan.")
    coords: CoordSystem = Field(default=CoordSystem.WGS84, description="System of the points in and out.")


class VisitRead(Read):
    seq: int
    customer_id: int
    name: str
    lat: float
    lon: float
    arrival: datetime
    start: datetime
    departure: datetime
    travel_s: int
    distance_m: int


class RouteRead(Read):
    rep_id: int
    plan_id: int | None
    depart: datetime
    arrive_end: datetime
    travel_s: int
    distance_m: int
    visits: list[VisitRead]


class UnassignedRead(Read):
    customer_id: int
    reason: str = Field(description="no_location, window_outside_hours, unreachable or no_time")
    detail: str


class PlanRead(Read):
    solver: str
    solve_s: float
    travel_times: str
    routes: list[RouteRead]
    unassigned: list[UnassignedRead]


def _point(p: PointIn | None, coords: CoordSystem) -> tuple[float, float] | None:
    return None if p is None else convert(p.lat, p.lon, coords, CoordSystem.WGS84)


def _view(outcome: PlanOutcome, coords: CoordSystem) -> PlanRead:
    routes = []
    saved = {p.rep_user_id: p.id for p in outcome.saved}
    for route in outcome.solved.routes:
        visits = []
        for seq, v in enumerate(route.visits):
            c = outcome.customers[v.customer_id]  # type: ignore[index]
            lat, lon = convert(c.lat, c.lon, CoordSystem.WGS84, coords)  # type: ignore[arg-type]
            visits.append(VisitRead(seq=seq, customer_id=c.id, name=c.name, lat=lat, lon=lon, arrival=v.arrival,  # type: ignore[arg-type]
                                    start=v.start, departure=v.departure, travel_s=v.travel_s, distance_m=v.distance_m))
        routes.append(RouteRead(rep_id=route.rep_id, plan_id=saved.get(route.rep_id), depart=route.depart,  # type: ignore[arg-type]
                                arrive_end=route.arrive_end, travel_s=route.travel_s, distance_m=route.distance_m,
                                visits=visits))
    unassigned = [UnassignedRead(customer_id=c, reason="no_location", detail="customer has no coordinates")
                  for c in outcome.no_location]
    unassigned += [UnassignedRead(customer_id=u.customer_id, reason=u.reason.value, detail=u.detail)  # type: ignore[arg-type]
                   for u in outcome.solved.unassigned]
    return PlanRead(solver=outcome.solved.solver, solve_s=round(outcome.solved.solve_s, 3),
                    travel_times=outcome.travel_times, routes=routes, unassigned=unassigned)


@router.post("", response_model=PlanRead)
def post_plan(body: PlanIn, session: SessionDep, user: CurrentUser, settings: SettingsDep) -> PlanRead:
    """Order (and, for several reps, assign) customers into day routes with arrival times; every
    customer is either routed or reported with a reason. 429 when the planner is busy."""
    ask = PlanAsk(
        day=body.day,
        reps=tuple(RepAsk(r.rep_id, _point(r.start, body.coords), _point(r.end, body.coords), r.shift_start,
                          r.shift_end, r.max_visits) for r in body.reps),
        customers=tuple(CustomerAsk(c.customer_id, c.service_min * 60, tuple((w.start, w.end) for w in c.windows),
                                    c.priority) for c in body.customers),
        solver=body.solver.value if body.solver else None, time_limit_s=body.time_limit_s, save=body.save,
    )
    return _view(plan_day(session, actor=user, ask=ask, settings=settings, now=utcnow()), body.coords)


@router.get("/{rep_id}/{day}")
def get_plan(rep_id: int, day: date, session: SessionDep, user: CurrentUser,
             coords: CoordSystem = Query(CoordSystem.WGS84)) -> dict[str, Any]:
    """The rep's active plan for the day (the rep page's "today's route")."""
    found = active_plan(session, actor=user, rep_id=rep_id, day=day)
    if found is None:
        raise NotFound("no plan for this rep and day")
    p = found.plan
    customers = plan_customers(session, actor=user, plan=found)

    def place(customer_id: int) -> dict[str, Any]:
        c = customers.get(customer_id)
        if c is None or c.lat is None or c.lon is None:
            return {"name": c.name if c else None, "lat": None, "lon": None}
        lat, lon = convert(c.lat, c.lon, CoordSystem.WGS84, coords)
        return {"name": c.name, "lat": lat, "lon": lon}

    start, end = convert(p.start_lat, p.start_lon, CoordSystem.WGS84, coords), convert(
        p.end_lat, p.end_lon, CoordSystem.WGS84, coords)
    return {
        "id": p.id, "rep_id": p.rep_user_id, "day": p.day.isoformat(), "solver": p.solver, "created_at": p.created_at,
        "start": {"lat": start[0], "lon": start[1]}, "end": {"lat": end[0], "lon": end[1]},
        "depart": p.depart, "arrive_end": p.arrive_end, "travel_s": p.travel_s, "distance_m": p.distance_m,
        "stops": [{"seq": s.seq, "customer_id": s.customer_id, **place(s.customer_id), "arrival": s.arrival, "start": s.start,
                   "departure": s.departure, "travel_s": s.travel_s, "distance_m": s.distance_m,
                   "service_s": s.service_s, "windows": s.windows} for s in found.stops],
        "unassigned": p.unassigned,
    }
