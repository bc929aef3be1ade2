"""VROOM (pyvroom) backend."""

from __future__ import annotations

from datetime import timedelta

import vroom

from lbs.routing.instance import Instance, Solution


def solve_vroom(
    instance: Instance, time_limit_s: float | None = None, exploration_level: int = 5, threads: int = 2
) -> Solution:
    """Solve with VROOM; ``time_limit_s`` caps the search (it usually ends far sooner)."""
    nv, nj = len(instance.vehicles), len(instance.jobs)
    if nj == 0:
        return Solution(tuple(() for _ in range(nv)), ())
    problem = vroom.Input()
    problem.set_durations_matrix("car", instance.durations)
    for v, veh in enumerate(instance.vehicles):
        extra = {} if veh.max_jobs is None else {"max_tasks": veh.max_jobs}
        problem.add_vehicle(
            vroom.Vehicle(
                v,
                start=veh.start,
                end=veh.end,
                time_window=vroom.TimeWindow(veh.earliest, veh.latest),
                **extra,
            )
        )
    problem.add_job(
        [
            vroom.Job(
                j,
                location=job.location,
                default_service=job.service,
                priority=job.priority,
                time_windows=[vroom.TimeWindow(a, b) for a, b in job.windows],
            )
            for j, job in enumerate(instance.jobs)
        ]
    )
    timeout = None if time_limit_s is None else timedelta(seconds=time_limit_s)
    result = problem.solve(exploration_level=exploration_level, nb_threads=threads, timeout=timeout).to_dict()
    routes: list[tuple[int, ...]] = [() for _ in range(nv)]
    for r in result.get("routes", []):
        routes[int(r["vehicle"])] = tuple(int(s["id"]) for s in r["steps"] if s["type"] == "job")
    served = {j for r in routes for j in r}
    return Solution(tuple(routes), tuple(j for j in range(nj) if j not in served))
