"""Live map (freshness, motion, visiting, battery) and dispatch (ranking, busy reps, tasks, timeline)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from crm.org import Role
from crm.timeline import TimelineEvent
from lbs.geo import destination
from tests.factories import Factory
from tests.locations.conftest import SHANGHAI, World, enrol, fix, minutes_ago, place_customer

INGEST = "/api/v1/ingest/locations"


def _report(client: TestClient, token: str, records: list[dict]) -> None:
    response = client.post(INGEST, json={"records": records}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.json()["rejected"] == 0


def _drive(start_min_ago: float, at: tuple[float, float], minutes: int, moving: bool) -> list[dict]:
    t0 = minutes_ago(start_min_ago)
    out = []
    for k in range(minutes * 2):
        lat, lon = destination(*at, 90.0, 150.0 * k) if moving else at
        out.append(fix(t0 + timedelta(seconds=30 * k), lat, lon, battery_pct=64.0))
    return out


def test_live_map_freshness_motion_and_battery(client: TestClient, world: World, factory: Factory, session: Session):
    _report(client, world.token, _drive(12, SHANGHAI, 10, moving=False))  # still for 10 min, 2 min ago
    _, token2 = enrol(session, world.division, world.other_rep, "LBS-2")
    _report(client, token2, _drive(60, SHANGHAI, 5, moving=True))  # moving, last fix ~55 min ago
    body = client.get("/api/v1/locations/live", headers=factory.headers(world.head)).json()
    assert body["type"] == "FeatureCollection"
    props = {f["properties"]["id"]: f["properties"] for f in body["features"]}
    assert props[world.rep.id]["freshness"] == "fresh" and props[world.rep.id]["state"] == "stopped"
    assert props[world.rep.id]["battery_pct"] == 64.0
    assert props[world.other_rep.id]["freshness"] == "offline" and props[world.other_rep.id]["state"] == "moving"
    mine = client.get("/api/v1/locations/live", headers=factory.headers(world.rep)).json()
    assert [f["id"] for f in mine["features"]] == [world.rep.id]


def test_a_checked_in_rep_is_visiting_and_busy(client: TestClient, world: World, factory: Factory, session: Session):
    customer = place_customer(session, factory, world.division, SHANGHAI, owner=world.rep)
    _report(client, world.token, _drive(11, SHANGHAI, 10, moving=False))
    checkin = {"customer_id": customer.id, "lat": SHANGHAI[0], "lon": SHANGHAI[1], "accuracy_m": 8,
               "occurred_at": minutes_ago(5).isoformat()}
    assert client.post("/api/v1/checkins", json=checkin, headers=factory.headers(world.rep)).status_code == 201
    live = client.get("/api/v1/locations/live", headers=factory.headers(world.head)).json()
    (feature,) = live["features"]
    assert feature["properties"]["state"] == "visiting"
    assert feature["properties"]["visiting_customer_id"] == customer.id
    ranked = client.get("/api/v1/dispatch/candidates", params={"lat": 31.24, "lon": 121.48},
                        headers=factory.headers(world.head)).json()
    assert ranked["ranked"] == []
    reasons = {e["rep_id"]: e["reasons"] for e in ranked["excluded"]}
    assert reasons[world.rep.id] == ["busy"] and reasons[world.other_rep.id] == ["no_position"]


def test_dispatch_ranks_the_nearest_available_rep_and_assigns(
    client: TestClient, world: World, factory: Factory, session: Session
):
    request_site = destination(*SHANGHAI, 0.0, 3000)
    customer = place_customer(session, factory, world.division, request_site, owner=world.rep)
    _report(client, world.token, _drive(3, destination(*request_site, 180.0, 4000), 2, moving=False))
    _, token2 = enrol(session, world.division, world.other_rep, "LBS-2")
    _report(client, token2, _drive(3, destination(*request_site, 90.0, 1500), 2, moving=False))
    third = factory.user(Role.rep, world.division)
    _, token3 = enrol(session, world.division, third, "LBS-3")
    _report(client, token3, _drive(40, destination(*request_site, 0.0, 200), 2, moving=False))  # stale
    headers = factory.headers(world.head)
    found = client.get("/api/v1/dispatch/candidates", params={"customer_id": customer.id}, headers=headers).json()
    assert [r["rep_id"] for r in found["ranked"]] == [world.other_rep.id, world.rep.id]
    assert found["ranked"][0]["distance_m"] == pytest.approx(1500, abs=5)
    assert found["travel_times"] == "straight_line"
    assert {e["rep_id"]: e["reasons"] for e in found["excluded"]} == {third.id: ["stale_position"]}

    task = client.post("/api/v1/dispatch/tasks", headers=headers, json={
        "rep_id": world.other_rep.id, "customer_id": customer.id, "title": "设备报修", "ref": "ticket:42"})
    assert task.status_code == 201, task.text
    assert task.json()["distance_m"] == pytest.approx(1500, abs=5)
    event = session.exec(select(TimelineEvent).where(TimelineEvent.customer_id == customer.id)).one()
    assert (event.kind, event.source_id) == ("dispatch", task.json()["id"])
    again = client.get("/api/v1/dispatch/candidates", params={"customer_id": customer.id}, headers=headers).json()
    assert [r["rep_id"] for r in again["ranked"]] == [world.rep.id]  # the assigned rep is busy now

    task_id = task.json()["id"]
    rep_headers = factory.headers(world.other_rep)
    assert client.post(f"/api/v1/dispatch/tasks/{task_id}/status", json={"status": "cancelled"},
                       headers=rep_headers).status_code == 403
    assert client.post(f"/api/v1/dispatch/tasks/{task_id}/status", json={"status": "accepted"},
                       headers=rep_headers).json()["status"] == "accepted"
    done = client.post(f"/api/v1/dispatch/tasks/{task_id}/status", json={"status": "done"}, headers=rep_headers)
    assert done.json()["status"] == "done" and done.json()["closed_at"] is not None
    assert client.post(f"/api/v1/dispatch/tasks/{task_id}/status", json={"status": "accepted"},
                       headers=rep_headers).status_code == 409
    assert [t["id"] for t in client.get("/api/v1/dispatch/tasks", headers=rep_headers).json()] == [task_id]
    assert client.get("/api/v1/dispatch/tasks", headers=factory.headers(world.rep)).json() == []


def test_only_managers_dispatch(client: TestClient, world: World, factory: Factory):
    response = client.get("/api/v1/dispatch/candidates", params={"lat": 31.2, "lon": 121.4},
                          headers=factory.headers(world.rep))
    assert response.status_code == 403
    missing = client.get("/api/v1/dispatch/candidates", headers=factory.headers(world.head))
    assert missing.status_code == 400 and missing.json()["field"] == "lat"
