"""Location ingestion from the agent's batches: filtering, idempotency, tracking hours, latest position."""

from __future__ import annotations

from datetime import timedelta, timezone

from fastapi.testclient import TestClient
from sqlalchemy.dialects import sqlite
from sqlmodel import Session, select

from crm.locations import LocationDiscard, LocationFix, RepPosition
from crm.types import UTCDateTime
from server.config import Settings
from server.locations.bulk import sqlite_utc_text
from tests.locations.conftest import World, fix, minutes_ago

URL = "/api/v1/ingest/locations"


def _stored(session: Session) -> list[LocationFix]:
    session.expire_all()
    return list(session.exec(select(LocationFix).order_by(LocationFix.time, LocationFix.id)))


def test_every_fix_gets_a_verdict_and_bad_ones_are_kept_marked(client: TestClient, world: World, session: Session):
    t = minutes_ago(30)
    records = [
        fix(t),
        fix(t + timedelta(seconds=10), accuracy_m=850.0),
        fix(t + timedelta(seconds=20), 0.0, 0.0),
        fix(t + timedelta(seconds=30), mock=True),
        fix(t + timedelta(seconds=40), 31.2305, 121.4738),
        fix(t + timedelta(seconds=40), 31.2306, 121.4739),  # same fix time, other position
        fix(t + timedelta(seconds=50), 39.9042, 116.4074),  # Beijing, 10 s later: a jump
        fix(t + timedelta(seconds=60), 31.2304, 121.4737),
        fix(t + timedelta(days=2)),
        fix(t - timedelta(days=30)),
        {"time": "2024-05-01T08:00:00", "lat": 31.2, "lon": 121.4},  # no time zone
        fix(t, 95.0, 121.4),
        "not an object",
    ]
    response = client.post(URL, json={"records": records}, headers=world.device_headers)
    assert response.status_code == 200, response.text
    body = response.json()
    verdicts = [(r["index"], r["status"], r.get("fix_status"), r.get("field")) for r in body["results"]]
    assert verdicts == [
        (0, "accepted", "ok", None),
        (1, "accepted", "low_accuracy", None),
        (2, "accepted", "zero", None),
        (3, "accepted", "mock", None),
        (4, "accepted", "ok", None),
        (5, "accepted", "duplicate", None),
        (6, "accepted", "speed_jump", None),
        (7, "accepted", "ok", None),
        (8, "accepted", "future", None),
        (9, "accepted", "ancient", None),
        (10, "rejected", None, "time"),
        (11, "rejected", None, "lat"),
        (12, "rejected", None, None),
    ]
    assert (body["accepted"], body["rejected"], body["duplicate"], body["excluded"]) == (10, 3, 0, 0)
    stored = _stored(session)
    assert len(stored) == 10
    assert {f.status for f in stored} >= {"ok", "low_accuracy", "zero", "mock", "duplicate", "speed_jump"}
    assert all(f.device_id == world.device.id and f.rep_user_id == world.rep.id for f in stored)


def test_resending_a_batch_changes_nothing(client: TestClient, world: World, session: Session):
    t = minutes_ago(20)
    batch = {"records": [fix(t + timedelta(seconds=15 * k), 31.2304 + k * 1e-4, 121.4737) for k in range(20)]}
    first = client.post(URL, json=batch, headers=world.device_headers).json()
    again = client.post(URL, json=batch, headers=world.device_headers).json()
    assert first["accepted"] == 20
    assert again["accepted"] == 0 and again["duplicate"] == 20
    assert len(_stored(session)) == 20


def test_the_stored_neighbours_judge_a_jump_across_batches(client: TestClient, world: World, session: Session):
    t = minutes_ago(20)
    track = [fix(t + timedelta(seconds=10 * k), 31.2304 + k * 1e-4, 121.4737) for k in range(10)]
    client.post(URL, json={"records": track}, headers=world.device_headers)
    spike = fix(t + timedelta(seconds=95), 31.3304, 121.4737)  # 11 km in 5 s
    result = client.post(URL, json={"records": [spike]}, headers=world.device_headers).json()
    assert result["results"][0]["fix_status"] == "speed_jump"


def test_fixes_outside_tracking_hours_are_not_stored_but_counted(
    client: TestClient, world: World, session: Session, settings: Settings
):
    t = minutes_ago(10)
    hour = (t + timedelta(hours=8)).hour  # Asia/Shanghai wall clock
    settings.tracking_hours = f"{(hour + 2) % 24:02d}:00-{(hour + 3) % 24:02d}:00"
    records = [fix(t + timedelta(seconds=k)) for k in range(3)]
    body = client.post(URL, json={"records": records}, headers=world.device_headers).json()
    assert body["excluded"] == 3
    assert {r["reason"] for r in body["results"]} == {"outside tracking hours"}
    assert _stored(session) == []
    counted = session.exec(select(LocationDiscard)).one()
    assert (counted.device_id, counted.count, counted.reason) == (world.device.id, 3, "outside_hours")
    client.post(URL, json={"records": [fix(t + timedelta(seconds=9))]}, headers=world.device_headers)
    session.expire_all()
    assert session.exec(select(LocationDiscard)).one().count == 4
    assert session.get(RepPosition, world.rep.id) is None


def test_latest_position_follows_the_newest_good_fix(client: TestClient, world: World, session: Session):
    t = minutes_ago(30)
    client.post(URL, json={"records": [fix(t, battery_pct=80.0), fix(t + timedelta(minutes=1), 31.231, 121.474)]},
                headers=world.device_headers)
    position = session.get(RepPosition, world.rep.id)
    assert position is not None and (position.lat, position.lon) == (31.231, 121.474)
    older = fix(t - timedelta(minutes=5), 31.0, 121.0)
    mock = fix(t + timedelta(minutes=2), 31.3, 121.5, mock=True)
    client.post(URL, json={"records": [older, mock]}, headers=world.device_headers)
    session.expire_all()
    position = session.get(RepPosition, world.rep.id)
    assert (position.lat, position.lon) == (31.231, 121.474)
    assert position.time == t + timedelta(minutes=1)
    assert position.division_id == world.division.id and position.source == "dumpsys"


def test_batches_need_device_credentials_and_a_bounded_size(
    client: TestClient, world: World, settings: Settings
):
    assert client.post(URL, json={"records": []}).status_code == 401
    user_token = {"Authorization": "Bearer fcu_not-a-device"}
    assert client.post(URL, json={"records": []}, headers=user_token).status_code == 401
    settings.ingest_max_batch = 3
    too_many = {"records": [fix(minutes_ago(5))] * 4}
    response = client.post(URL, json=too_many, headers=world.device_headers)
    assert response.status_code == 413 and response.json()["field"] == "records"
    unknown = client.post(URL, json={"records": [], "extra": 1}, headers=world.device_headers)
    assert unknown.status_code == 422


def test_bulk_datetime_text_equals_what_the_orm_stores():
    dialect = sqlite.dialect()
    orm = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    for value in (minutes_ago(3), minutes_ago(3).replace(microsecond=5).astimezone(timezone(timedelta(hours=8)))):
        assert sqlite_utc_text(value) == orm(value)
