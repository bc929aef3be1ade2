"""Location ingestion from the agent's batches: filtering, idempotency, tracking hours, latest position."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy.dialects import sqlite
from sqlmodel import Session, select

from crm.locations import LocationDiscard, LocationFix, RepPosition
from crm.types import UTCDateTime
from lbs.filtering import filter_fixes
from lbs.points import Fix, epoch_us
from server.config import Settings
from server.locations.bulk import micros, sqlite_utc_text, sqlite_utc_texts
from server.locations.config import fix_policy
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
    values = [
        minutes_ago(3), minutes_ago(3).replace(microsecond=5).astimezone(timezone(timedelta(hours=8))),
        datetime(5, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 1, tzinfo=UTC),
    ]
    for value in values:
        assert sqlite_utc_text(value) == orm(value)
    micro = np.array([epoch_us(v) for v in values])
    assert sqlite_utc_texts(micro) == [orm(v) for v in values]
    assert micros(dialect, sqlite_utc_texts(micro)).tolist() == micro.tolist()


def _by_the_filter(session: Session, device_id: int, records: list[dict], settings: Settings) -> list[str]:
    """The filter's verdicts for records not stored yet, with every good stored fix within
    10 minutes of them as context (what ingestion must answer, however it reads the context)."""
    stored = list(session.exec(select(LocationFix).where(LocationFix.device_id == device_id)))
    keys = {(f.time, f.lat, f.lon) for f in stored}
    fresh = [Fix(datetime.fromisoformat(r["time"]), r["lat"], r["lon"], r.get("accuracy_m")) for r in records]
    fresh = [f for f in fresh if (f.time, f.lat, f.lon) not in keys]
    first, last = min(f.time for f in fresh), max(f.time for f in fresh)
    context = sorted(
        (Fix(f.time, f.lat, f.lon) for f in stored
         if f.status == "ok" and first - timedelta(minutes=10) <= f.time <= last + timedelta(minutes=10)),
        key=lambda f: (f.time, f.lat, f.lon),
    )
    checked = filter_fixes(fresh + context, fix_policy(settings).filter, datetime.now(UTC))
    return [c.status.value for c in sorted(checked, key=lambda c: c.index) if c.index < len(fresh)]


def test_single_fixes_get_the_verdict_of_the_whole_stored_window(
    client: TestClient, world: World, session: Session, settings: Settings
):
    """Only the nearest stored fixes are read unless fixes farther away could change the verdict:
    either way the answer is the filter's over ±10 min. Good stored fixes that alternate
    between two places (stored while a looser speed limit applied) make the nearest ones undecided."""
    rng = random.Random(3)
    t = minutes_ago(60)
    near, far = (31.2304, 121.4737), (31.5, 121.4737)  # 30 km apart: unreachable in seconds at 70 m/s
    settings.location_max_speed_mps = 10_000.0
    stored = [fix(t + timedelta(seconds=5 * k), *(far if k >= 30 and (k // rng.randint(1, 4)) % 2 else near))
              for k in range(80)]
    assert client.post(URL, json={"records": stored}, headers=world.device_headers).json()["accepted"] == 80
    settings.location_max_speed_mps = 70.0
    for _ in range(60):
        at = t + timedelta(seconds=rng.choice([rng.uniform(0, 400), rng.uniform(400, 700)]))
        records = [fix(at, *(far if rng.random() < 0.3 else near))]
        session.expire_all()
        expected = _by_the_filter(session, world.device.id, records, settings)
        body = client.post(URL, json={"records": records}, headers=world.device_headers).json()
        assert [r["fix_status"] for r in body["results"]] == expected, at
