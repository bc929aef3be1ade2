"""A simulated day sent through the HTTP API, reviewed: stops at the right customers, check-ins,
anomalies, figures, and the saved plan against what happened."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from lbs.geo import destination, haversine_m
from lbs.simulate import SimConfig, random_sites, simulate_day
from tests.factories import Factory
from tests.locations.conftest import SHANGHAI, World, iso, place_customer

CLEAN = SimConfig(outlier_rate=0.0, low_accuracy_rate=0.0, duplicate_rate=0.0, zero_rate=0.0, gap_prob=0.0,
                  dwell_range_s=(900.0, 1500.0))


def _send_day(client: TestClient, world: World, day) -> None:
    records = [
        {"time": iso(datetime.fromtimestamp(t, tz=UTC)), "lat": la, "lon": lo, "accuracy_m": acc, "mock": bool(m),
         "provider": "gps"}
        for t, la, lo, acc, m in zip(day.t.tolist(), day.lat.tolist(), day.lon.tolist(), day.accuracy_m.tolist(),
                                     day.mock.tolist(), strict=True)
    ]
    for k in range(0, len(records), 2000):
        response = client.post("/api/v1/ingest/locations", json={"records": records[k:k + 2000]},
                               headers=world.device_headers)
        assert response.status_code == 200


@pytest.fixture
def yesterday() -> datetime:
    local = datetime.now(UTC) + timedelta(hours=8)
    return datetime(local.year, local.month, local.day, 1, 0, tzinfo=UTC) - timedelta(days=1)  # 09:00 Shanghai


def test_a_simulated_day_is_reviewed_against_customers_checkins_and_plan(
    client: TestClient, world: World, factory: Factory, session: Session, yesterday: datetime
):
    rng = np.random.default_rng(11)
    sites = random_sites(SHANGHAI, 6000, 4, rng)
    home = SHANGHAI
    sim = simulate_day(home, sites, yesterday, seed=5, config=CLEAN)
    customers = [place_customer(session, factory, world.division, s, owner=world.rep, name=f"客户{k}")
                 for k, s in enumerate(sites)]
    day = (yesterday + timedelta(hours=8)).date().isoformat()
    headers = factory.headers(world.head)

    plan = client.post("/api/v1/route-plans", headers=headers, json={
        "day": day, "save": True, "time_limit_s": 1,
        "reps": [{"rep_id": world.rep.id, "start": {"lat": home[0], "lon": home[1]},
                  "shift_start": "08:30", "shift_end": "20:00"}],
        "customers": [{"customer_id": c.id, "service_min": 20} for c in customers],
    })
    assert plan.status_code == 200, plan.text
    assert len(plan.json()["routes"][0]["visits"]) == 4

    _send_day(client, world, sim)
    first = sim.truth[0]
    at_stop = {"customer_id": customers[0].id, "lat": sites[0][0], "lon": sites[0][1], "accuracy_m": 10,
               "occurred_at": iso(first.start + timedelta(minutes=3))}
    far = destination(*sites[1], 0.0, 5000)
    nowhere = {"customer_id": customers[1].id, "lat": far[0], "lon": far[1], "accuracy_m": 10,
               "occurred_at": iso(sim.truth[-1].end + timedelta(minutes=20))}
    for body in (at_stop, nowhere):
        assert client.post("/api/v1/checkins", json=body, headers=factory.headers(world.rep)).status_code == 201

    response = client.get(f"/api/v1/locations/reps/{world.rep.id}/days/{day}", headers=headers)
    assert response.status_code == 200, response.text
    review = response.json()
    visited = [s["customer"]["id"] for s in review["stops"] if s["customer"]]
    assert visited == [c.id for c in customers]  # in the order driven
    for stop, truth in zip([s for s in review["stops"] if s["customer"]], sim.truth, strict=True):
        assert abs(datetime.fromisoformat(stop["start"]) - truth.start) < timedelta(minutes=3)
        assert haversine_m(stop["lat"], stop["lon"], truth.lat, truth.lon) < 60
    figures = review["figures"]
    assert figures["fixes"] == len(sim.t) and figures["fixes_by_status"] == {"ok": len(sim.t)}
    assert figures["distance_m"] > 5000 and figures["moving_s"] > 0 and figures["stopped_s"] > 3600
    assert 2 <= len(review["track"]["coordinates"]) < 0.7 * len(sim.t)  # simplified for display
    statuses = {c["customer"]["id"]: (c["status"], c["stop_index"]) for c in review["checkins"]}
    assert statuses[customers[0].id][0] == "ok" and statuses[customers[0].id][1] is not None
    assert statuses[customers[1].id] == ("outside_geofence", None)
    kinds = {a["kind"] for a in review["anomalies"]}
    assert {"checkin_without_stop", "checkin_outside_geofence"} <= kinds
    planned = review["plan"]
    assert planned is not None and planned["done"] == 4 and planned["missed"] == 0
    assert {v["outcome"] for v in planned["visits"]} <= {"on_time", "early", "late"}

    as_rep = client.get(f"/api/v1/locations/reps/{world.rep.id}/days/{day}", headers=factory.headers(world.rep))
    assert as_rep.status_code == 200
    other = client.get(f"/api/v1/locations/reps/{world.rep.id}/days/{day}", headers=factory.headers(world.other_rep))
    assert other.status_code == 404
    gcj = client.get(f"/api/v1/locations/reps/{world.rep.id}/days/{day}", params={"coords": "gcj02"},
                     headers=headers).json()
    shift = haversine_m(*review["track"]["coordinates"][0][::-1], *gcj["track"]["coordinates"][0][::-1])
    assert 300 < shift < 700  # Gaode tiles are offset by a few hundred metres in Shanghai


def test_mock_fixes_and_a_gap_are_anomalies(client: TestClient, world: World, factory: Factory, yesterday: datetime):
    start = yesterday + timedelta(hours=1)
    records = [{"time": iso(start + timedelta(seconds=30 * k)), "lat": SHANGHAI[0] + k * 2e-4, "lon": SHANGHAI[1],
                "accuracy_m": 8, "mock": 10 <= k < 14} for k in range(40)]
    records += [{"time": iso(start + timedelta(hours=2, seconds=30 * k)), "lat": SHANGHAI[0] + 0.02 + k * 2e-4,
                 "lon": SHANGHAI[1], "accuracy_m": 8} for k in range(10)]
    client.post("/api/v1/ingest/locations", json={"records": records}, headers=world.device_headers)
    day = (start + timedelta(hours=8)).date().isoformat()
    review = client.get(f"/api/v1/locations/reps/{world.rep.id}/days/{day}", headers=factory.headers(world.head)).json()
    kinds = [a["kind"] for a in review["anomalies"]]
    assert "mock_location" in kinds and "tracking_gap" in kinds
    assert review["figures"]["fixes_by_status"]["mock"] == 4
