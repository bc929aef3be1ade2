"""Solver-neutral integer VRPTW instance, its solutions, and the schedule/validity checker.

Times are integer seconds from an origin; ``durations[a][b]`` is travel between
location indices. A vehicle starts at ``start`` no earlier than ``earliest`` and must
reach ``end`` by ``latest``. A job's service may start inside any of its ``windows``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True, slots=True)
class Vehicle:
    start: int
    end: int
    earliest: int
    latest: int
    max_jobs: int | None = None


@dataclass(frozen=True, slots=True)
class Job:
    location: int
    service: int
    windows: tuple[tuple[int, int], ...]
    priority: int = 0


@dataclass(frozen=True, slots=True, eq=False)
class Instance:
    durations: NDArray[np.int64]
    vehicles: tuple[Vehicle, ...]
    jobs: tuple[Job, ...]


@dataclass(frozen=True, slots=True)
class Solution:
    routes: tuple[tuple[int, ...], ...]  # job indices per vehicle, in visiting order
    unassigned: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class TimedJob:
    job: int
    arrival: int
    start: int
    departure: int


@dataclass(frozen=True, slots=True)
class Schedule:
    depart: int
    stops: tuple[TimedJob, ...]
    arrive_end: int
    travel: int


def service_start(arrival: int, windows: Sequence[tuple[int, int]]) -> int | None:
    """Earliest allowed service start at or after ``arrival``; None when all windows closed."""
    for a, b in windows:
        if arrival <= b:
            return max(arrival, a)
    return None


def schedule(instance: Instance, vehicle: int, jobs: Sequence[int]) -> Schedule | None:
    """Timings of ``jobs`` in order for ``vehicle`` (earliest starts), or None if infeasible.

    Departure from the start is delayed so the first visit does not wait needlessly.
    """
    v = instance.vehicles[vehicle]
    dur = instance.durations
    if v.max_jobs is not None and len(jobs) > v.max_jobs:
        return None
    t, here, travel = v.earliest, v.start, 0
    stops: list[TimedJob] = []
    for j in jobs:
        job = instance.jobs[j]
        leg = int(dur[here, job.location])
        arrival = t + leg
        start = service_start(arrival, job.windows)
        if start is None:
            return None
        stops.append(TimedJob(j, arrival, start, start + job.service))
        t, here, travel = start + job.service, job.location, travel + leg
    back = int(dur[here, v.end])
    if t + back > v.latest:
        return None
    depart = v.earliest
    if stops:
        shift = stops[0].start - stops[0].arrival
        depart += shift
        stops[0] = TimedJob(stops[0].job, stops[0].start, stops[0].start, stops[0].departure)
    return Schedule(depart, tuple(stops), t + back, travel + back)


def validate(instance: Instance, solution: Solution) -> list[str]:
    """Problems with ``solution`` (empty when valid): coverage, windows, hours, visit caps."""
    problems: list[str] = []
    seen = [j for r in solution.routes for j in r] + list(solution.unassigned)
    if sorted(seen) != list(range(len(instance.jobs))):
        problems.append("every job must appear exactly once, routed or unassigned")
    if len(solution.routes) != len(instance.vehicles):
        problems.append("one route per vehicle expected")
    for v, route in enumerate(solution.routes):
        if route and schedule(instance, v, route) is None:
            problems.append(f"vehicle {v}: route violates a time window, the shift or the visit cap")
    return problems


def is_plain_tour(instance: Instance) -> bool:
    """True for one vehicle whose hours, visit cap and job windows cannot bind (a TSP).

    The bound used is the longest possible route: every job's service plus, from each
    location, its longest outgoing leg.
    """
    if len(instance.vehicles) != 1:
        return False
    v = instance.vehicles[0]
    if v.max_jobs is not None and v.max_jobs < len(instance.jobs):
        return False
    longest = int(instance.durations.max(axis=1).sum()) + sum(j.service for j in instance.jobs)
    if v.latest - v.earliest < longest:
        return False
    return all(
        job.windows and job.windows[0][0] <= v.earliest and job.windows[-1][1] >= v.earliest + longest
        for job in instance.jobs
    )


def route_travel(instance: Instance, vehicle: int, jobs: Sequence[int]) -> int:
    v = instance.vehicles[vehicle]
    locs = [v.start, *(instance.jobs[j].location for j in jobs), v.end]
    return int(sum(instance.durations[a, b] for a, b in itertools.pairwise(locs)))


def solution_cost(instance: Instance, solution: Solution) -> tuple[int, int, int]:
    """Lexicographic objective: (−served priority sum, −served count, travel seconds)."""
    served = [j for r in solution.routes for j in r]
    travel = sum(route_travel(instance, v, r) for v, r in enumerate(solution.routes) if r)
    return (-sum(instance.jobs[j].priority for j in served), -len(served), travel)
