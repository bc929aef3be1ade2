"""Plan reps' days: build the integer instance, diagnose impossible visits, solve, schedule.

Default solver ``auto``: VROOM for real day plans (time windows, hours, several reps);
on this package's benchmark (scripts/bench_lbs_algorithms.py) it matches the best of
OR-Tools and VROOM given 30 s each on 30-stop days with time windows, in well under a
second, while OR-Tools' guided local search always spends its whole budget. For a plain
closed tour (one rep, nothing time-bound, symmetric matrix) ``auto`` uses fast-tsp,
which is far stronger there than either. ``ortools``, ``vroom``, ``fast_tsp`` and
``vroom+ortools`` (VROOM's routes seed OR-Tools' local search) can be chosen explicitly.
"""

from __future__ import annotations

import math
import time as _time
from collections.abc import Hashable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from lbs.errors import InvalidConfig
from lbs.routing.instance import Instance, Job, Solution, Vehicle, schedule, validate
from lbs.routing.matrix import MatrixProvider, StraightLineMatrix, TravelMatrix
from lbs.routing.model import (
    PlanCustomer,
    PlannedVisit,
    PlanRep,
    RepRoute,
    RoutePlan,
    Unassigned,
    UnassignedReason,
)
from lbs.routing.ortools_solver import solve_ortools
from lbs.routing.tsp_solver import fits_fast_tsp, solve_fast_tsp
from lbs.routing.vroom_solver import solve_vroom


class SolverName(StrEnum):
    AUTO = "auto"
    FAST_TSP = "fast_tsp"
    VROOM = "vroom"
    ORTOOLS = "ortools"
    VROOM_ORTOOLS = "vroom+ortools"


def resolve_solver(instance: Instance, solver: SolverName | str) -> SolverName:
    """The backend ``solver`` stands for on ``instance`` (``auto`` decides here)."""
    name = SolverName(solver)
    if name is SolverName.AUTO:
        return SolverName.FAST_TSP if fits_fast_tsp(instance) else SolverName.VROOM
    return name


def solve_instance(instance: Instance, solver: SolverName | str, time_limit_s: float) -> Solution:
    """Run one backend on an integer instance."""
    name = resolve_solver(instance, solver)
    if name is SolverName.FAST_TSP:
        if not fits_fast_tsp(instance):
            raise InvalidConfig(
                "fast_tsp only solves one closed, unconstrained, symmetric tour", field="solver"
            )
        return solve_fast_tsp(instance, time_limit_s)
    if name is SolverName.VROOM:
        return solve_vroom(instance, time_limit_s)
    if name is SolverName.ORTOOLS:
        return solve_ortools(instance, time_limit_s)
    return solve_ortools(instance, time_limit_s, initial=solve_vroom(instance, time_limit_s))


class _Builder:
    """Maps the geographic request onto location indices and integer seconds."""

    def __init__(self, reps: Sequence[PlanRep], customers: Sequence[PlanCustomer], matrix: TravelMatrix):
        self.reps, self.customers, self.matrix = reps, customers, matrix
        self.origin = min(r.shift_start for r in reps)
        nr = len(reps)
        self.rep_start = [2 * i for i in range(nr)]
        # A rep without its own end returns to the start location (same index: a closed tour).
        self.rep_end = [2 * i if r.end is None else 2 * i + 1 for i, r in enumerate(reps)]
        self.cust_loc = [2 * nr + k for k in range(len(customers))]

    def sec(self, when: datetime, up: bool = False) -> int:
        """Whole seconds since the origin, rounded down (or up for opening times)."""
        value = (when - self.origin).total_seconds()
        return math.ceil(value) if up else math.floor(value)

    def at(self, seconds: int) -> datetime:
        return self.origin + timedelta(seconds=seconds)

    def vehicle(self, i: int) -> Vehicle:
        rep = self.reps[i]
        return Vehicle(
            self.rep_start[i],
            self.rep_end[i],
            self.sec(rep.shift_start, up=True),
            self.sec(rep.shift_end),
            rep.max_visits,
        )

    def job(self, k: int) -> Job:
        c = self.customers[k]
        horizon = max(self.sec(r.shift_end) for r in self.reps)
        windows = tuple(
            (max(0, self.sec(w.start, up=True)), self.sec(w.end))
            for w in c.time_windows
            if self.sec(w.end) >= max(0, self.sec(w.start, up=True))
        )
        if not c.time_windows:
            windows = ((0, horizon),)
        return Job(self.cust_loc[k], c.service_s, windows, c.priority)


def _diagnose(builder: _Builder, k: int, job: Job) -> Unassigned | None:
    """Why customer ``k`` cannot be served by anyone even alone (None when some rep could)."""
    customer = builder.customers[k]
    overlaps = any(
        a <= builder.sec(r.shift_end) and b >= builder.sec(r.shift_start)
        for r in builder.reps
        for a, b in job.windows
    )
    if not overlaps:
        return Unassigned(
            customer.id, UnassignedReason.WINDOW_OUTSIDE_HOURS, "no time window within working hours"
        )
    for i in range(len(builder.reps)):
        alone = Instance(builder.matrix.durations_s, (builder.vehicle(i),), (job,))
        if schedule(alone, 0, [0]) is not None:
            return None
    return Unassigned(
        customer.id,
        UnassignedReason.UNREACHABLE,
        "cannot be reached and served within its window and the hours",
    )


def plan_routes(
    reps: Sequence[PlanRep],
    customers: Sequence[PlanCustomer],
    *,
    matrix_provider: MatrixProvider | None = None,
    solver: SolverName | str = SolverName.AUTO,
    time_limit_s: float = 5.0,
) -> RoutePlan:
    """Assign customers to reps and order each rep's day.

    Returns a route per rep (possibly empty) with arrival/service/departure times, and
    every customer that is not routed with a reason. Objective: keep high-priority
    visits first, then as many visits as possible, then least travel time.
    """
    if not reps:
        raise InvalidConfig("at least one rep is required", field="reps")
    ids = [c.id for c in customers]
    if len(set(ids)) != len(ids):
        raise InvalidConfig("customer ids must be unique", field="customers")
    if not time_limit_s > 0:
        raise InvalidConfig("time_limit_s must be positive", field="time_limit_s")
    solver_name = SolverName(solver)
    provider = matrix_provider or StraightLineMatrix()
    points = [p for r in reps for p in (r.start, r.end_point)] + [(c.lat, c.lon) for c in customers]
    builder = _Builder(reps, customers, provider(points))
    if builder.matrix.durations_s.shape != (len(points), len(points)):
        raise InvalidConfig("matrix provider returned a matrix of the wrong size", field="matrix_provider")

    unassigned: list[Unassigned] = []
    routable: list[int] = []
    jobs: list[Job] = []
    for k in range(len(customers)):
        job = builder.job(k)
        problem = _diagnose(builder, k, job)
        if problem is None:
            routable.append(k)
            jobs.append(job)
        else:
            unassigned.append(problem)
    instance = Instance(
        builder.matrix.durations_s, tuple(builder.vehicle(i) for i in range(len(reps))), tuple(jobs)
    )
    solver_name = resolve_solver(instance, solver_name)
    began = _time.perf_counter()
    solution = solve_instance(instance, solver_name, time_limit_s)
    elapsed = _time.perf_counter() - began
    if validate(instance, solution):
        raise RuntimeError(f"{solver_name} returned an invalid solution: {validate(instance, solution)}")
    for j in solution.unassigned:
        unassigned.append(
            Unassigned(
                customers[routable[j]].id, UnassignedReason.NO_TIME, "does not fit with the kept visits"
            )
        )
    routes = tuple(_route(builder, instance, i, solution.routes[i], routable) for i in range(len(reps)))
    return RoutePlan(routes, tuple(unassigned), solver_name.value, elapsed)


def _route(
    builder: _Builder, instance: Instance, i: int, jobs: Sequence[int], routable: list[int]
) -> RepRoute:
    sched = schedule(instance, i, jobs)
    rep = builder.reps[i]
    if sched is None or not jobs:
        return RepRoute(rep.id, rep.shift_start, (), 0, 0, rep.shift_start)
    dist = builder.matrix.distances_m
    visits = []
    here = builder.rep_start[i]
    for stop in sched.stops:
        loc = instance.jobs[stop.job].location
        visits.append(
            PlannedVisit(
                customer_id=builder.customers[routable[stop.job]].id,
                arrival=builder.at(stop.arrival),
                start=builder.at(stop.start),
                departure=builder.at(stop.departure),
                travel_s=int(instance.durations[here, loc]),
                distance_m=int(dist[here, loc]),
            )
        )
        here = loc
    end = builder.rep_end[i]
    return RepRoute(
        rep_id=rep.id,
        depart=builder.at(sched.depart),
        visits=tuple(visits),
        return_travel_s=int(instance.durations[here, end]),
        return_distance_m=int(dist[here, end]),
        arrive_end=builder.at(sched.arrive_end),
    )


def check_plan(
    plan: RoutePlan, reps: Sequence[PlanRep], customers: Sequence[PlanCustomer], matrix: TravelMatrix
) -> list[str]:
    """Independent validity check of a plan against its inputs (used by tests).

    Every customer routed exactly once or reported; each visit starts inside a window
    after travel from the previous stop; the rep leaves no earlier than the shift start
    and is back by its end.
    """
    problems: list[str] = []
    by_id = {c.id: (k, c) for k, c in enumerate(customers)}
    seen: list[Hashable] = [v.customer_id for r in plan.routes for v in r.visits]
    seen += [u.customer_id for u in plan.unassigned]
    if sorted(map(str, seen)) != sorted(str(c.id) for c in customers) or len(seen) != len(set(seen)):
        problems.append("customers must be routed or unassigned exactly once")
    nr = len(reps)
    for i, (rep, route) in enumerate(zip(reps, plan.routes, strict=True)):
        if route.rep_id != rep.id:
            problems.append(f"route {i} belongs to {route.rep_id}, expected {rep.id}")
        if route.depart < rep.shift_start:
            problems.append(f"{rep.id}: leaves before the shift starts")
        t, here = route.depart, 2 * i
        for v in route.visits:
            k, c = by_id[v.customer_id]
            earliest = t + timedelta(seconds=int(matrix.durations_s[here, 2 * nr + k]))
            if v.arrival < earliest or v.start < v.arrival:
                problems.append(f"{rep.id}: {c.id} reached before travel allows or served before arrival")
            if c.time_windows and not any(w.start <= v.start <= w.end for w in c.time_windows):
                problems.append(f"{rep.id}: {c.id} served outside its time windows")
            if v.departure != v.start + timedelta(seconds=c.service_s):
                problems.append(f"{rep.id}: {c.id} service time not respected")
            t, here = v.departure, 2 * nr + k
        back = t + timedelta(seconds=int(matrix.durations_s[here, 2 * i + 1]))
        if route.visits and (back > rep.shift_end or route.arrive_end < back):
            problems.append(f"{rep.id}: not back by the end of the shift")
    return problems
