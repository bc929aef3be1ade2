import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

from lbs.errors import InvalidConfig, InvalidTime, MatrixProviderError
from lbs.geo import destination, haversine_m
from lbs.osrm import OsrmTableMatrix
from lbs.routing import (
    PlanCustomer,
    PlanRep,
    SolverName,
    StraightLineMatrix,
    TimeWindow,
    TravelMatrix,
    UnassignedReason,
    check_plan,
    plan_routes,
)
from lbs.routing.instance import Instance, Job, Solution, Vehicle, route_travel, solution_cost, validate
from lbs.routing.planner import solve_instance
from lbs.simulate import random_sites

OFFICE = (31.2304, 121.4737)
DATA = Path(__file__).resolve().parents[1] / "data" / "lbs"


def matrix_for(reps, customers, provider=None):
    points = [p for r in reps for p in (r.start, r.end_point)] + [(c.lat, c.lon) for c in customers]
    return (provider or StraightLineMatrix())(points)


def day_problem(t0, count=12, seed=4, windows_every=3):
    rng = np.random.default_rng(seed)
    customers = []
    for k, (lat, lon) in enumerate(random_sites(OFFICE, 10_000, count, rng)):
        windows = ()
        if k % windows_every == 0:
            start = t0 + timedelta(hours=float(rng.uniform(0, 5)))
            windows = (TimeWindow(start, start + timedelta(hours=2)),)
        customers.append(PlanCustomer(f"c{k}", lat, lon, service_s=900, time_windows=windows))
    return customers


@pytest.mark.parametrize("solver", [SolverName.VROOM, SolverName.ORTOOLS])
def test_single_rep_day_is_valid_and_complete(t0, solver):
    customers = day_problem(t0)
    rep = PlanRep("r1", OFFICE, t0, t0 + timedelta(hours=10))
    plan = plan_routes([rep], customers, solver=solver, time_limit_s=1)
    assert check_plan(plan, [rep], customers, matrix_for([rep], customers)) == []
    assert plan.visit_count == len(customers) and plan.unassigned == ()
    route = plan.routes[0]
    assert route.depart >= rep.shift_start and route.arrive_end <= rep.shift_end
    assert route.travel_s > 0


def test_solvers_agree_on_small_instance(t0):
    customers = day_problem(t0, count=8, seed=9)
    rep = PlanRep("r1", OFFICE, t0, t0 + timedelta(hours=10))
    solvers = (SolverName.AUTO, SolverName.VROOM, SolverName.ORTOOLS, SolverName.VROOM_ORTOOLS)
    costs = {s: plan_routes([rep], customers, solver=s, time_limit_s=1).travel_s for s in solvers}
    assert max(costs.values()) <= min(costs.values()) * 1.01


def test_plain_tour_uses_fast_tsp_and_beats_or_matches_ortools(t0):
    rng = np.random.default_rng(8)
    customers = [
        PlanCustomer(f"c{k}", la, lo, service_s=0)
        for k, (la, lo) in enumerate(random_sites(OFFICE, 5000, 40, rng))
    ]
    rep = PlanRep("r1", OFFICE, t0, t0 + timedelta(hours=20))
    auto = plan_routes([rep], customers, time_limit_s=1)
    assert auto.solver == "fast_tsp" and auto.visit_count == 40
    assert check_plan(auto, [rep], customers, matrix_for([rep], customers)) == []
    assert auto.travel_s <= plan_routes([rep], customers, solver="ortools", time_limit_s=1).travel_s
    windowed = day_problem(t0)
    assert plan_routes([rep], windowed).solver == "vroom"
    with pytest.raises(InvalidConfig):
        plan_routes([rep], windowed, solver="fast_tsp")


def test_pcb442_within_two_percent_of_optimum():
    text = (DATA / "pcb442.tsp").read_text().split("NODE_COORD_SECTION")[1].split("EOF")[0]
    pts = np.array([[float(v) for v in line.split()[1:3]] for line in text.strip().splitlines()])
    d = np.rint(np.hypot(pts[:, None, 0] - pts[None, :, 0], pts[:, None, 1] - pts[None, :, 1])).astype(
        np.int64
    )
    big = 10**9
    inst = Instance(d, (Vehicle(0, 0, 0, big),), tuple(Job(i, 0, ((0, big),)) for i in range(1, len(pts))))
    solution = solve_instance(inst, SolverName.AUTO, 10.0)
    assert validate(inst, solution) == []
    assert route_travel(inst, 0, solution.routes[0]) <= 50778 * 1.02


def test_unroutable_customers_get_reasons(t0):
    near = destination(*OFFICE, 0, 2000)
    very_far = destination(*OFFICE, 90, 400_000)
    customers = [
        PlanCustomer(
            "evening", *near, time_windows=(TimeWindow(t0 + timedelta(hours=12), t0 + timedelta(hours=13)),)
        ),
        PlanCustomer("far", *very_far),
        PlanCustomer("ok", *near, service_s=3600, priority=50),
        PlanCustomer("long", *destination(*OFFICE, 180, 2000), service_s=3 * 3600, priority=0),
    ]
    rep = PlanRep("r1", OFFICE, t0, t0 + timedelta(hours=4))
    plan = plan_routes([rep], customers)
    reasons = {u.customer_id: u.reason for u in plan.unassigned}
    assert reasons == {
        "evening": UnassignedReason.WINDOW_OUTSIDE_HOURS,
        "far": UnassignedReason.UNREACHABLE,
        "long": UnassignedReason.NO_TIME,
    }
    assert [v.customer_id for v in plan.routes[0].visits] == ["ok"]
    assert check_plan(plan, [rep], customers, matrix_for([rep], customers)) == []


def test_priority_wins_over_count(t0):
    a, b = destination(*OFFICE, 0, 1000), destination(*OFFICE, 180, 1000)
    customers = [
        PlanCustomer("vip", *a, service_s=5400, priority=90),
        PlanCustomer("small1", *b, service_s=2400),
        PlanCustomer("small2", *b, service_s=2400),
    ]
    rep = PlanRep("r1", OFFICE, t0, t0 + timedelta(hours=2))
    for solver in (SolverName.VROOM, SolverName.ORTOOLS):
        plan = plan_routes([rep], customers, solver=solver, time_limit_s=1)
        assert [v.customer_id for v in plan.routes[0].visits] == ["vip"]


def test_waits_for_window_and_leaves_late_to_avoid_waiting(t0):
    site = destination(*OFFICE, 45, 3000)
    window = TimeWindow(t0 + timedelta(hours=2), t0 + timedelta(hours=3))
    rep = PlanRep("r1", OFFICE, t0, t0 + timedelta(hours=8))
    plan = plan_routes([rep], [PlanCustomer("c", *site, time_windows=(window,))])
    visit = plan.routes[0].visits[0]
    assert visit.start == window.start and visit.wait_s == 0
    assert plan.routes[0].depart == window.start - timedelta(seconds=visit.travel_s)


def test_several_reps_split_the_work(t0):
    customers = day_problem(t0, count=24, seed=2)
    reps = [
        PlanRep("north", destination(*OFFICE, 0, 6000), t0, t0 + timedelta(hours=5), end=OFFICE),
        PlanRep("south", destination(*OFFICE, 180, 6000), t0, t0 + timedelta(hours=5), max_visits=8),
    ]
    plan = plan_routes(reps, customers, time_limit_s=1)
    assert check_plan(plan, reps, customers, matrix_for(reps, customers)) == []
    assert all(r.visits for r in plan.routes)
    assert len(plan.routes[1].visits) <= 8
    assert plan.visit_count + len(plan.unassigned) == len(customers)


def test_check_plan_catches_a_broken_plan(t0):
    customers = day_problem(t0, count=6, seed=1, windows_every=1)
    rep = PlanRep("r1", OFFICE, t0, t0 + timedelta(hours=10))
    plan = plan_routes([rep], customers)
    route = plan.routes[0]
    late = route.visits[0]
    bad_visit = type(late)(
        late.customer_id, late.arrival, late.start + timedelta(hours=5), late.departure, late.travel_s, 0
    )
    broken = type(plan)(
        (type(route)(rep.id, route.depart, (bad_visit, *route.visits[2:]), 0, 0, route.arrive_end),),
        plan.unassigned,
        plan.solver,
        0.0,
    )
    assert check_plan(broken, [rep], customers, matrix_for([rep], customers))


def test_instance_validator_and_cost():
    durations = np.array([[0, 10, 10], [10, 0, 5], [10, 5, 0]])
    inst = Instance(durations, (Vehicle(0, 0, 0, 100),), (Job(1, 5, ((0, 100),)), Job(2, 5, ((0, 12),))))
    good = Solution(((1, 0),), ())
    assert validate(inst, good) == []
    assert validate(inst, Solution(((0, 1),), ())) != []  # job 1 reached at 20 > 12
    assert validate(inst, Solution(((0,),), ())) != []  # job 1 missing
    assert solution_cost(inst, good) == (0, -2, 25)


def test_input_errors(t0):
    rep = PlanRep("r1", OFFICE, t0, t0 + timedelta(hours=1))
    with pytest.raises(InvalidTime):
        PlanRep("r", OFFICE, t0, t0)
    with pytest.raises(InvalidConfig):
        PlanCustomer("c", *OFFICE, priority=101)
    with pytest.raises(InvalidConfig):
        plan_routes([], [])
    with pytest.raises(InvalidConfig):
        plan_routes([rep], [PlanCustomer("c", *OFFICE), PlanCustomer("c", *OFFICE)])
    with pytest.raises(ValueError):
        plan_routes([rep], [], solver="simplex")
    with pytest.raises(InvalidTime):
        TimeWindow(t0, t0 - timedelta(seconds=1))
    assert plan_routes([rep], []).routes[0].visits == ()


class _OsrmHandler(BaseHTTPRequestHandler):
    """A small OSRM-compatible table service: duration = 1.5 × straight line / 10 m/s."""

    requests: list[str] = []

    def do_GET(self):
        url = urlsplit(self.path)  # urlparse would cut the path at ";"
        type(self).requests.append(url.path)
        if "/table/v1/driving/" not in url.path:
            self._send(400, {"code": "InvalidUrl", "message": "bad path"})
            return
        coords = [tuple(map(float, c.split(","))) for c in url.path.rsplit("/", 1)[1].split(";")]
        q = parse_qs(url.query)
        src = [int(i) for i in q["sources"][0].split(";")]
        dst = [int(i) for i in q["destinations"][0].split(";")]
        dist = [
            [1.5 * haversine_m(coords[a][1], coords[a][0], coords[b][1], coords[b][0]) for b in dst]
            for a in src
        ]
        dur = [
            [None if a != b and coords[b][1] > 80 else d / 10 for b, d in zip(dst, row, strict=True)]
            for a, row in zip(src, dist, strict=True)
        ]
        self._send(200, {"code": "Ok", "durations": dur, "distances": dist})

    def _send(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def osrm_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OsrmHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _OsrmHandler.requests = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_osrm_table_client_blocks_and_matches(osrm_url):
    points = [destination(*OFFICE, b, 1000 + 100 * b) for b in range(0, 360, 36)]
    provider = OsrmTableMatrix(osrm_url, max_locations=4)
    matrix = provider(points)
    assert len(_OsrmHandler.requests) == 25  # 10 points in blocks of 2 → 5 × 5 requests
    for a in range(len(points)):
        for b in range(len(points)):
            d = 1.5 * haversine_m(*points[a], *points[b])
            assert matrix.distances_m[a, b] == pytest.approx(d, abs=1)
            assert matrix.durations_s[a, b] == pytest.approx(d / 10, abs=1)


def test_planner_uses_osrm_provider(osrm_url, t0):
    customers = day_problem(t0, count=6, seed=3)
    rep = PlanRep("r1", OFFICE, t0, t0 + timedelta(hours=10))
    provider = OsrmTableMatrix(osrm_url)
    plan = plan_routes([rep], customers, matrix_provider=provider)
    assert check_plan(plan, [rep], customers, matrix_for([rep], customers, provider)) == []
    first = plan.routes[0].visits[0]
    c = next(c for c in customers if c.id == first.customer_id)
    assert first.travel_s == pytest.approx(1.5 * haversine_m(*OFFICE, c.lat, c.lon) / 10, abs=1)


def test_osrm_null_falls_back_and_errors_are_typed(osrm_url):
    polar = [(OFFICE[0], OFFICE[1]), (85.0, 10.0)]
    matrix = OsrmTableMatrix(osrm_url)(polar)
    assert matrix.durations_s[0, 1] == StraightLineMatrix()(polar).durations_s[0, 1]
    with pytest.raises(MatrixProviderError):
        OsrmTableMatrix(osrm_url, profile="boat/../x")(polar)
    with pytest.raises(MatrixProviderError):
        OsrmTableMatrix("http://127.0.0.1:9", timeout_s=0.5)(polar)
    with pytest.raises(InvalidConfig):
        OsrmTableMatrix("ftp://example")
    with pytest.raises(MatrixProviderError):
        TravelMatrix(np.zeros((2, 3), dtype=np.int64), np.zeros((2, 3), dtype=np.int64))
