"""fast-tsp backend for plain closed tours (one rep, nothing time-bound, symmetric matrix).

Its Or-opt/Lin-Kernighan local search finds the optimum of TSPLIB pcb442 within about
a second, where OR-Tools' guided local search is still a few per cent off after 10 s.
"""

from __future__ import annotations

import fast_tsp
import numpy as np

from lbs.routing.instance import Instance, Solution, is_plain_tour

_MAX_ENTRY = 65_535  # fast-tsp's limit on matrix entries


def fits_fast_tsp(instance: Instance) -> bool:
    """A plain tour that starts and ends at the same place over a symmetric matrix."""
    if not is_plain_tour(instance) or not instance.jobs:
        return False
    v = instance.vehicles[0]
    locs = np.array([v.start, *(j.location for j in instance.jobs)])
    sub = instance.durations[np.ix_(locs, locs)]
    return v.start == v.end and bool(np.array_equal(sub, sub.T))


def solve_fast_tsp(instance: Instance, time_limit_s: float) -> Solution:
    """Tour over all jobs from the vehicle's start. Budget: ``min(limit, n / 250 s)``, ≥ 0.1 s.

    Matrices with entries above 65 535 are scaled down for the search only.
    """
    v = instance.vehicles[0]
    locs = np.array([v.start, *(j.location for j in instance.jobs)])
    sub = instance.durations[np.ix_(locs, locs)].astype(np.int64)
    top = int(sub.max(initial=0))
    if top > _MAX_ENTRY:
        sub = np.rint(sub * (_MAX_ENTRY / top)).astype(np.int64)
    budget = min(time_limit_s, max(0.1, len(locs) / 250))
    tour = fast_tsp.find_tour(sub.tolist(), budget)
    k = tour.index(0)
    ordered = tour[k + 1 :] + tour[:k]
    return Solution((tuple(node - 1 for node in ordered),), ())
