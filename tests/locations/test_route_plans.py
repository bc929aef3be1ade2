"""Route planning API: valid routes (windows, shift, every customer routed or reported), several reps,
saved plans, solver limits."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from crm.org import Role
from lbs.simulate import random_sites
from server.config import Settings
from server.locations import planning
from tests.factories import Factory
from tests.locations.conftest import SHANGHAI, World, place_customer

URL = "/api/v1/route-plans"
DAY = date(2025, 3, 4)
ZONE = ZoneInfo("Asia/Shanghai")


def _local(at: str) -> datetime:
    return datetime.fromisoformat(at).astimezone(ZONE)


def _customers(session: Session, factory: Factory, world: World, count: int, seed: int = 3):
    rng = np.random.default_rng(seed)
    return [place_customer(session, factory, world.division, p, name=f"客户{k}")
            for k, p in enumerate(random_sites(SHANGHAI, 8000, count, rng))]


def test_a_day_with_time_windows_is_valid_and_complete(
    client: TestClient, world: World, factory: Factory, session: Session
):
    customers = _customers(session, factory, world, 12)
    windows = {c.id: [{"start": "09:00", "end": "11:00"}] if k % 3 == 0 else
               [{"start": "14:00", "end": "16:30"}] if k % 3 == 1 else [] for k, c in enumerate(customers)}
    late = place_customer(session, factory, world.division, SHANGHAI, name="夜间客户")
    nowhere = factory.customer(world.division, None)
    asks = [{"customer_id": c.id, "service_min": 25, "windows": windows[c.id], "priority": 10} for c in customers]
    asks += [{"customer_id": late.id, "windows": [{"start": "21:00", "end": "22:00"}]},
             {"customer_id": nowhere.id}]
    body = {"day": DAY.isoformat(), "time_limit_s": 1, "reps": [{
        "rep_id": world.rep.id, "start": {"lat": SHANGHAI[0], "lon": SHANGHAI[1]},
        "shift_start": "08:30", "shift_end": "18:00"}], "customers": asks}
    response = client.post(URL, json=body, headers=factory.headers(world.head))
    assert response.status_code == 200, response.text
    plan = response.json()
    (route,) = plan["routes"]
    routed = [v["customer_id"] for v in route["visits"]]
    unassigned = {u["customer_id"]: u["reason"] for u in plan["unassigned"]}
    assert sorted(routed + list(unassigned)) == sorted(a["customer_id"] for a in asks)
    assert len(routed) == len(set(routed))
    assert unassigned[late.id] == "window_outside_hours" and unassigned[nowhere.id] == "no_location"
    assert _local(route["depart"]).time() >= datetime(2000, 1, 1, 8, 30).time()
    assert _local(route["arrive_end"]).time() <= datetime(2000, 1, 1, 18, 0).time()
    previous = datetime.fromisoformat(route["depart"])
    for visit in route["visits"]:
        start, arrival = datetime.fromisoformat(visit["start"]), datetime.fromisoformat(visit["arrival"])
        assert arrival >= previous + timedelta(seconds=visit["travel_s"]) - timedelta(seconds=1)
        assert start >= arrival
        assert datetime.fromisoformat(visit["departure"]) - start == timedelta(minutes=25)
        for w in windows.get(visit["customer_id"], []):
            assert w["start"] <= _local(visit["start"]).strftime("%H:%M") <= w["end"]
        previous = datetime.fromisoformat(visit["departure"])
    assert plan["solver"] == "vroom" and plan["travel_times"] == "straight_line"


def test_several_reps_share_the_customers_and_the_plan_is_saved(
    client: TestClient, world: World, factory: Factory, session: Session
):
    customers = _customers(session, factory, world, 16, seed=9)
    body = {"day": DAY.isoformat(), "save": True, "time_limit_s": 1, "solver": "ortools",
            "reps": [{"rep_id": rep.id, "start": {"lat": SHANGHAI[0], "lon": SHANGHAI[1]}, "max_visits": 9}
                     for rep in (world.rep, world.other_rep)],
            "customers": [{"customer_id": c.id, "service_min": 40} for c in customers]}
    plan = client.post(URL, json=body, headers=factory.headers(world.head)).json()
    counts = [len(r["visits"]) for r in plan["routes"]]
    assert sum(counts) + len(plan["unassigned"]) == 16 and max(counts) <= 9 and min(counts) > 0
    assert all(r["plan_id"] for r in plan["routes"])
    today = client.get(f"{URL}/{world.rep.id}/{DAY.isoformat()}", headers=factory.headers(world.rep))
    assert today.status_code == 200
    stops = today.json()["stops"]
    assert [s["customer_id"] for s in stops] == [v["customer_id"] for v in plan["routes"][0]["visits"]]
    assert all(s["name"] and s["lat"] for s in stops)
    replanned = client.post(URL, json=body | {"solver": "vroom"}, headers=factory.headers(world.head)).json()
    again = client.get(f"{URL}/{world.rep.id}/{DAY.isoformat()}", headers=factory.headers(world.rep)).json()
    assert again["id"] == replanned["routes"][0]["plan_id"] != today.json()["id"]
    assert client.get(f"{URL}/{world.rep.id}/{DAY.isoformat()}",
                      headers=factory.headers(world.other_rep)).status_code == 404


def test_start_defaults_and_clear_errors(
    client: TestClient, world: World, factory: Factory, session: Session, settings: Settings
):
    (customer,) = _customers(session, factory, world, 1)
    body = {"day": DAY.isoformat(), "reps": [{"rep_id": world.rep.id}], "customers": [{"customer_id": customer.id}]}
    headers = factory.headers(world.head)
    no_start = client.post(URL, json=body, headers=headers)
    assert no_start.status_code == 400 and no_start.json()["field"] == "reps.start"
    settings.office_lat, settings.office_lon = SHANGHAI
    assert len(client.post(URL, json=body, headers=headers).json()["routes"][0]["visits"]) == 1
    hidden = factory.customer(factory.division(), None)
    other = client.post(URL, json=body | {"customers": [{"customer_id": hidden.id}]}, headers=headers)
    assert other.status_code == 404 and other.json()["field"] == "customers"
    outsider = factory.user(Role.rep)
    assert client.post(URL, json=body | {"reps": [{"rep_id": outsider.id}]}, headers=headers).status_code == 404
    bad = client.post(URL, json=body | {"customers": [{"customer_id": customer.id,
                                                       "windows": [{"start": "12:00", "end": "10:00"}]}]},
                      headers=headers)
    assert bad.status_code == 400 and bad.json()["field"] == "time_windows"


def test_the_solver_time_is_capped_and_a_full_planner_answers_429(
    client: TestClient, world: World, factory: Factory, session: Session, settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
):
    customers = _customers(session, factory, world, 3)
    settings.route_max_time_limit_s = 0.5
    seen: list[float] = []
    real = planning.plan_routes

    def spy(*args, **kwargs):
        seen.append(kwargs["time_limit_s"])
        return real(*args, **kwargs)

    monkeypatch.setattr(planning, "plan_routes", spy)
    body = {"day": DAY.isoformat(), "time_limit_s": 60,
            "reps": [{"rep_id": world.rep.id, "start": {"lat": SHANGHAI[0], "lon": SHANGHAI[1]}}],
            "customers": [{"customer_id": c.id} for c in customers]}
    headers = factory.headers(world.head)
    assert client.post(URL, json=body, headers=headers).status_code == 200
    assert seen == [0.5]
    slot = planning._slot(settings.route_max_concurrent)
    held = [slot.acquire(blocking=False) for _ in range(settings.route_max_concurrent)]
    try:
        busy = client.post(URL, json=body, headers=headers)
    finally:
        for ok in held:
            if ok:
                slot.release()
    assert busy.status_code == 429
    assert client.post(URL, json=body, headers=headers).status_code == 200
