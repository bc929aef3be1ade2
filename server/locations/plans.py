"""Saved day plans: one active plan per rep and day (saving a new one supersedes it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import update
from sqlmodel import Session, select

from crm.access import scope
from crm.customers import Customer
from crm.locations import RoutePlan, RoutePlanStop
from crm.org import User
from lbs.routing import PlannedVisit, RepRoute, TimeWindow, Unassigned


@dataclass(frozen=True, slots=True)
class ActivePlan:
    plan: RoutePlan
    stops: tuple[RoutePlanStop, ...]

    @property
    def visits(self) -> list[PlannedVisit]:
        return [PlannedVisit(s.customer_id, s.arrival, s.start, s.departure, s.travel_s, s.distance_m)
                for s in self.stops]

    @property
    def windows(self) -> dict[int, list[TimeWindow]]:
        return {s.customer_id: [TimeWindow(datetime.fromisoformat(a), datetime.fromisoformat(b))
                                for a, b in s.windows] for s in self.stops}


def active_plan(session: Session, *, actor: User, rep_id: int, day: date) -> ActivePlan | None:
    plan = session.exec(scope(
        select(RoutePlan).where(RoutePlan.rep_user_id == rep_id, RoutePlan.day == day, RoutePlan.active)
        .order_by(RoutePlan.id.desc()), actor, RoutePlan,
    )).first()
    if plan is None:
        return None
    stops = session.exec(select(RoutePlanStop).where(RoutePlanStop.plan_id == plan.id).order_by(RoutePlanStop.seq))
    return ActivePlan(plan, tuple(stops))


@dataclass(frozen=True, slots=True)
class PlanInputs:
    """What a route was planned from, kept with it."""

    rep: User
    day: date
    start: tuple[float, float]
    end: tuple[float, float]
    shift_start: datetime
    shift_end: datetime
    service_s: dict[int, int]
    windows: dict[int, Sequence[TimeWindow]]


def save_plan(
    session: Session, *, inputs: PlanInputs, route: RepRoute, unassigned: Sequence[Unassigned], solver: str,
    created_by: User, now: datetime,
) -> RoutePlan:
    """Store ``route`` as the rep's active plan for the day (the caller commits)."""
    rep = inputs.rep
    session.execute(
        update(RoutePlan).where(RoutePlan.rep_user_id == rep.id, RoutePlan.day == inputs.day, RoutePlan.active)
        .values(active=False)
    )
    plan = RoutePlan(
        division_id=rep.division_id, rep_user_id=rep.id, day=inputs.day, solver=solver,  # type: ignore[arg-type]
        created_by_user_id=created_by.id, created_at=now, start_lat=inputs.start[0], start_lon=inputs.start[1],
        end_lat=inputs.end[0], end_lon=inputs.end[1], shift_start=inputs.shift_start, shift_end=inputs.shift_end,
        depart=route.depart, arrive_end=route.arrive_end, travel_s=route.travel_s, distance_m=route.distance_m,
        unassigned=[{"customer_id": u.customer_id, "reason": str(u.reason), "detail": u.detail} for u in unassigned],
    )
    session.add(plan)
    session.flush()
    for seq, v in enumerate(route.visits):
        cid = int(v.customer_id)  # type: ignore[call-overload]
        session.add(RoutePlanStop(
            plan_id=plan.id, division_id=rep.division_id, seq=seq, customer_id=cid,  # type: ignore[arg-type]
            arrival=v.arrival, start=v.start, departure=v.departure, travel_s=v.travel_s, distance_m=v.distance_m,
            service_s=inputs.service_s[cid],
            windows=[[w.start.isoformat(), w.end.isoformat()] for w in inputs.windows.get(cid, ())],
        ))
    return plan


def plan_customers(session: Session, *, actor: User, plan: ActivePlan) -> dict[int, Customer]:
    """The visible customers of a plan's stops."""
    ids = [s.customer_id for s in plan.stops]
    rows = session.exec(scope(select(Customer).where(Customer.id.in_(ids)), actor, Customer)) if ids else []
    return {c.id: c for c in rows}  # type: ignore[misc]
