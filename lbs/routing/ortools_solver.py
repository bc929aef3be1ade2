"""OR-Tools RoutingModel backend: VRPTW with optional visits (disjunction penalties)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from lbs.routing.instance import Instance, Solution, is_plain_tour


def drop_penalties(instance: Instance) -> list[int]:
    """Penalties that make OR-Tools' objective match VROOM's lexicographic one.

    Dropping any job of priority p costs ``big * (1 + p * (n + 1))`` where ``big``
    exceeds any possible total travel; so priority sum dominates, then count, then travel.
    """
    n = len(instance.jobs)
    horizon = max((v.latest - v.earliest for v in instance.vehicles), default=0)
    big = horizon * max(1, len(instance.vehicles)) + int(instance.durations.max(initial=0)) + 1
    return [big * (1 + job.priority * (n + 1)) for job in instance.jobs]


def solve_ortools(instance: Instance, time_limit_s: float, initial: Solution | None = None) -> Solution:
    """Guided local search for ``time_limit_s`` seconds (it always uses the whole budget).

    A plain tour (see :func:`is_plain_tour`) is modelled without the time dimension and
    optional visits and starts from Christofides' tour, which is much stronger there.
    """
    nv, nj = len(instance.vehicles), len(instance.jobs)
    if nj == 0:
        return Solution(tuple(() for _ in range(nv)), ())
    # Nodes: each vehicle's start and (if elsewhere) end first, then jobs from ``base`` on.
    # (OR-Tools' Christofides start fails unless the depot is node 0.)
    locs: list[int] = []
    starts, ends = [], []
    for v in instance.vehicles:
        starts.append(len(locs))
        locs.append(v.start)
        if v.end != v.start:
            locs.append(v.end)
        ends.append(len(locs) - 1)
    base = len(locs)
    locs += [j.location for j in instance.jobs]
    loc = np.array(locs)
    travel = instance.durations[np.ix_(loc, loc)].astype(np.int64)
    service = np.array([0] * base + [j.service for j in instance.jobs], dtype=np.int64)
    transit_matrix = (travel + service[:, None]).tolist()
    travel_matrix = travel.tolist()
    manager = pywrapcp.RoutingIndexManager(len(locs), nv, starts, ends)
    model = pywrapcp.RoutingModel(manager)
    node = manager.IndexToNode

    cost_cb = model.RegisterTransitCallback(lambda i, j: travel_matrix[node(i)][node(j)])
    time_cb = model.RegisterTransitCallback(lambda i, j: transit_matrix[node(i)][node(j)])
    model.SetArcCostEvaluatorOfAllVehicles(cost_cb)
    plain = is_plain_tour(instance)
    keep_alive = [] if plain else _add_constraints(instance, model, manager, time_cb, base)
    params = pywrapcp.DefaultRoutingSearchParameters()
    strategy = routing_enums_pb2.FirstSolutionStrategy
    params.first_solution_strategy = strategy.CHRISTOFIDES if plain else strategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))
    assignment = None
    if initial is not None:
        model.CloseModelWithParameters(params)
        start = model.ReadAssignmentFromRoutes([[base + j for j in r] for r in initial.routes], True)
        if start is not None:
            assignment = model.SolveFromAssignmentWithParameters(start, params)
    if assignment is None:
        assignment = model.SolveWithParameters(params)
    del keep_alive
    if assignment is None:
        return Solution(tuple(() for _ in range(nv)), tuple(range(nj)))
    routes = []
    for v in range(nv):
        index = assignment.Value(model.NextVar(model.Start(v)))
        route = []
        while not model.IsEnd(index):
            route.append(node(index) - base)
            index = assignment.Value(model.NextVar(index))
        routes.append(tuple(route))
    served = {j for r in routes for j in r}
    return Solution(tuple(routes), tuple(j for j in range(nj) if j not in served))


def _add_constraints(
    instance: Instance,
    model: pywrapcp.RoutingModel,
    manager: pywrapcp.RoutingIndexManager,
    time_cb: int,
    base: int,
) -> list[Callable[[int], int]]:
    """Time windows, shifts, visit caps and optional visits with their penalties.

    Returns the Python callbacks it registered; the caller holds them while solving.
    """
    nj = len(instance.jobs)
    node = manager.IndexToNode
    horizon = max(v.latest for v in instance.vehicles) + 1
    model.AddDimension(time_cb, horizon, horizon, False, "time")
    time_dim = model.GetDimensionOrDie("time")
    for j, job in enumerate(instance.jobs):
        cumul = time_dim.CumulVar(manager.NodeToIndex(base + j))
        windows = job.windows or ((0, horizon),)
        cumul.SetRange(windows[0][0], min(horizon, windows[-1][1]))
        for (_, b), (a2, _) in itertools.pairwise(windows):
            if a2 > b + 1:
                cumul.RemoveInterval(b + 1, a2 - 1)
    for v, veh in enumerate(instance.vehicles):
        time_dim.CumulVar(model.Start(v)).SetRange(veh.earliest, veh.latest)
        time_dim.CumulVar(model.End(v)).SetRange(veh.earliest, veh.latest)
    callbacks: list[Callable[[int], int]] = []
    if any(v.max_jobs is not None for v in instance.vehicles):
        callbacks.append(lambda i: 1 if node(i) >= base else 0)
        count_cb = model.RegisterUnaryTransitCallback(callbacks[-1])
        caps = [nj if v.max_jobs is None else v.max_jobs for v in instance.vehicles]
        model.AddDimensionWithVehicleCapacity(count_cb, 0, caps, True, "visits")
    for j, penalty in enumerate(drop_penalties(instance)):
        model.AddDisjunction([manager.NodeToIndex(base + j)], penalty)
    return callbacks
