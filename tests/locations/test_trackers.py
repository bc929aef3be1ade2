"""Tracker apps, with their requests replayed byte for byte over a real socket."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from crm.locations import LocationFix, RepPosition
from tests.locations.conftest import World, basic, iso, minutes_ago, raw_request


def _fixes(session: Session) -> list[LocationFix]:
    session.expire_all()
    return list(session.exec(select(LocationFix)))


def test_owntracks_location_is_stored_and_answered_with_an_empty_list(
    live_server: str, world: World, session: Session
):
    at = minutes_ago(3)
    status, body = raw_request(
        live_server, "owntracks_location.http", BASIC=basic(world.token), TST=str(int(at.timestamp()))
    )
    assert (status, body) == (200, b"[]")
    (stored,) = _fixes(session)
    assert (stored.source, stored.status, stored.time) == ("owntracks", "ok", at)
    assert stored.speed_mps == pytest.approx(5.0)  # vel 18 km/h
    assert (stored.accuracy_m, stored.battery_pct, stored.charging, stored.bearing_deg) == (12, 85, False, 270)
    position = session.get(RepPosition, world.rep.id)
    assert position is not None and position.battery_pct == 85


def test_owntracks_messages_without_a_fix_are_acknowledged(live_server: str, world: World, session: Session):
    status, body = raw_request(live_server, "owntracks_lwt.http", BASIC=basic(world.token), TST="1714545010")
    assert (status, body) == (200, b"[]")
    assert _fixes(session) == []


def test_owntracks_refuses_a_wrong_password(live_server: str, world: World):
    status, _ = raw_request(live_server, "owntracks_location.http", BASIC=basic("fcd_wrong"), TST="1714545010")
    assert status == 401


@pytest.mark.parametrize(
    ("request_file", "speed", "accuracy", "battery"),
    [("osmand_get.http", 5.0, None, None), ("traccar_client_query.http", 5.0, 12.0, 85.0)],
)
def test_osmand_and_traccar_client_query_speed_in_knots(
    live_server: str, world: World, session: Session, request_file: str, speed: float, accuracy, battery
):
    at = minutes_ago(2)
    status, _ = raw_request(live_server, request_file, TOKEN=world.token, TST=str(int(at.timestamp())))
    assert status == 200
    (stored,) = _fixes(session)
    assert stored.source == "osmand" and stored.time == at
    assert stored.speed_mps == pytest.approx(speed, abs=1e-3)  # 9.71922 kn
    assert (stored.accuracy_m, stored.battery_pct) == (accuracy, battery)


def test_traccar_client_9_json(live_server: str, world: World, session: Session):
    at = minutes_ago(1)
    status, _ = raw_request(live_server, "traccar_client9_json.http", TOKEN=world.token, ISO=iso(at))
    assert status == 200
    (stored,) = _fixes(session)
    assert (stored.source, stored.speed_mps, stored.battery_pct, stored.provider) == (
        "traccar_json", 5.2, 85.0, "motionchange"
    )


def test_osmand_form_post_and_authorization_header(client: TestClient, world: World, session: Session):
    at = minutes_ago(1)
    form = f"timestamp={int(at.timestamp())}&lat=31.2304&lon=121.4737&speed=0&id=358240051111110"
    response = client.post(
        "/api/v1/trackers/osmand", content=form,
        headers={"Content-Type": "application/x-www-form-urlencoded", **world.device_headers},
    )
    assert response.status_code == 200
    assert [f.device_id for f in _fixes(session)] == [world.device.id]


def test_osmand_unknown_device_and_bad_payloads_are_clear_400s(client: TestClient, world: World, session: Session):
    url = "/api/v1/trackers/osmand"
    unknown = client.get(url, params={"id": "358240051111110", "lat": 31.2, "lon": 121.4, "timestamp": 1714545010})
    assert unknown.status_code == 400 and "unknown device" in unknown.json()["detail"]
    nonsense = client.get(url, params={"id": world.token, "lat": 131.2, "lon": 121.4, "timestamp": 1714545010})
    assert nonsense.status_code == 400 and nonsense.json()["field"] == "lat"
    broken = client.post(url, content=b'{"location": ', headers={"Content-Type": "application/json"})
    assert broken.status_code == 400
    owntracks = client.post("/api/v1/trackers/owntracks", content=b'{"_type":"location","lat":31.2}',
                            headers={"Authorization": f"Basic {basic(world.token)}"})
    assert owntracks.status_code == 400 and owntracks.json()["field"] in {"tst", "lon"}
    assert _fixes(session) == []
