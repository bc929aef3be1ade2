"""A replayed day's analysis is reused only while it is still right: a late fix or time moving
past a fix from the future gives a new analysis, equal to one made from scratch."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from crm.locations import LocationFix
from lbs.coords import CoordSystem
from lbs.geo import destination
from lbs.points import Fix
from lbs.trajectory import analyze_day
from server.config import Settings
from server.locations.config import trajectory_config
from server.locations.days import DAY_TRACKS, day_bounds, rep_day
from server.locations.views import rep_day_view
from tests.factories import Factory
from tests.locations.conftest import SHANGHAI, World, fix


def _yesterday() -> date:
    return (datetime.now(UTC) + timedelta(hours=8)).date() - timedelta(days=1)


def _drive(start: datetime, minutes: int) -> list[dict]:
    """A fix every 30 s: 20 min parked, then driving east at ~10 m/s."""
    out = []
    for k in range(minutes * 2):
        lat, lon = destination(*SHANGHAI, 90.0, max(0, k - 40) * 300.0)
        out.append(fix(start + timedelta(seconds=30 * k), lat, lon, provider="gps"))
    return out


def _send(client: TestClient, world: World, records: list[dict]) -> None:
    response = client.post("/api/v1/ingest/locations", json={"records": records}, headers=world.device_headers)
    assert response.status_code == 200, response.text


def _driven_yesterday(client: TestClient, world: World, settings: Settings) -> tuple[date, datetime, datetime]:
    """Yesterday with an hour of driving sent from 02:00: (day, first fix's time, now)."""
    day = _yesterday()
    start = day_bounds(day, settings.time_zone)[0] + timedelta(hours=2)
    _send(client, world, _drive(start, 60))
    return day, start, datetime.now(UTC)


def _review(session: Session, world: World, settings: Settings, day: date, now: datetime) -> dict:
    found = rep_day(session, actor=world.head, rep_id=world.rep.id, day=day, settings=settings, now=now)
    return rep_day_view(found, CoordSystem.WGS84).model_dump(mode="json")


def _from_scratch(session: Session, world: World, settings: Settings, day: date, now: datetime) -> dict:
    DAY_TRACKS.clear()
    return _review(session, world, settings, day, now)


def test_a_late_fix_gives_the_finished_day_a_new_analysis(
    client: TestClient, world: World, factory: Factory, session: Session, settings: Settings
) -> None:
    day, start, now = _driven_yesterday(client, world, settings)

    first = _review(session, world, settings, day, now)
    again = rep_day(session, actor=world.head, rep_id=world.rep.id, day=day, settings=settings, now=now)
    assert again.track is rep_day(session, actor=world.head, rep_id=world.rep.id, day=day, settings=settings,
                                  now=now + timedelta(minutes=5)).track  # the finished day is analysed once
    assert first["figures"]["fixes"] == 120
    assert first == _from_scratch(session, world, settings, day, now)

    # a phone that was offline uploads an hour of that day later: another stop, far away
    late = [fix(start + timedelta(hours=3, seconds=30 * k), *destination(*SHANGHAI, 0.0, 8000.0), provider="gps")
            for k in range(60)]
    _send(client, world, late)
    updated = _review(session, world, settings, day, now)
    assert updated["figures"]["fixes"] == 180
    assert len(updated["stops"]) == len(first["stops"]) + 1
    assert updated == _from_scratch(session, world, settings, day, now)

    # and the analysis is lbs' own on the stored fixes
    begin, finish = day_bounds(day, settings.time_zone)
    stored = session.exec(
        select(LocationFix)
        .where(LocationFix.rep_user_id == world.rep.id, LocationFix.time >= begin, LocationFix.time < finish)
        .order_by(LocationFix.time)
    ).all()
    direct = analyze_day(
        [Fix(f.time, f.lat, f.lon, f.accuracy_m, f.speed_mps, f.bearing_deg, f.altitude_m, f.battery_pct, f.mock,
             f.provider) for f in stored],
        min(now, finish),
        trajectory_config(settings),
    )
    assert updated["figures"]["distance_m"] == round(direct.distance_m, 1)
    assert [datetime.fromisoformat(s["start"]) for s in updated["stops"]] == [s.start_time for s in direct.stops]


def test_a_fix_from_the_future_is_judged_again_as_time_passes(
    world: World, session: Session, settings: Settings
) -> None:
    day = _yesterday()
    now = day_bounds(day, settings.time_zone)[0] + timedelta(hours=12)  # noon that day, when it was reviewed
    times = [now - timedelta(hours=2) + timedelta(seconds=30 * k) for k in range(240)]
    times.append(now + timedelta(minutes=30))  # a phone whose clock runs half an hour ahead
    session.add_all(
        LocationFix(device_id=world.device.id, division_id=world.division.id, rep_user_id=world.rep.id, time=t,
                    lat=SHANGHAI[0], lon=SHANGHAI[1], accuracy_m=10.0, source="owntracks", status="ok",
                    received_at=now)
        for t in times
    )
    session.commit()

    before = _review(session, world, settings, day, now)
    assert before["figures"]["fixes_by_status"]["future"] == 1
    later = now + timedelta(minutes=25)
    after = _review(session, world, settings, day, later)
    assert "future" not in after["figures"]["fixes_by_status"]
    assert after["figures"]["fixes_by_status"]["ok"] == len(times)
    assert after == _from_scratch(session, world, settings, day, later)


def test_a_deleted_fix_gives_the_day_a_new_analysis(
    client: TestClient, world: World, session: Session, settings: Settings
) -> None:
    day, start, now = _driven_yesterday(client, world, settings)
    first = _review(session, world, settings, day, now)

    # the latest stored fix goes (as retention removes fixes), then one comes in at another time: as
    # many fixes as before, on SQLite even the same ids, but another set of fixes
    last = session.exec(select(LocationFix).order_by(LocationFix.time.desc())).first()
    assert last is not None
    session.delete(last)
    session.commit()
    _send(client, world, [fix(start - timedelta(minutes=10), *SHANGHAI, provider="gps")])
    updated = _review(session, world, settings, day, now)
    assert updated["figures"]["fixes"] == first["figures"]["fixes"] == 120
    assert updated["figures"]["last_fix"] < first["figures"]["last_fix"]
    assert updated == _from_scratch(session, world, settings, day, now)
