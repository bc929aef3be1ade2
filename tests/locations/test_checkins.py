"""Check-ins: statuses against the customer's geofence, never refused, on the timeline, photos, retries."""

from __future__ import annotations

import base64
import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlmodel import Session, select

from crm.locations import Checkin
from crm.timeline import TimelineEvent
from lbs.coords import wgs84_to_gcj02
from lbs.geo import destination
from server.config import Settings
from tests.factories import Factory
from tests.locations.conftest import SHANGHAI, World, place_customer

URL = "/api/v1/checkins"


def _jpeg() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(buffer, "JPEG")
    return base64.b64encode(buffer.getvalue()).decode()


@pytest.mark.parametrize(
    ("distance_m", "accuracy_m", "mock", "radius_m", "status"),
    [
        (40, 15, False, None, "ok"),
        (450, 15, False, None, "outside_geofence"),
        (450, 15, False, 500.0, "ok"),  # the customer's own radius
        (150, 400, False, None, "low_accuracy"),
        (900, 400, False, None, "outside_geofence"),  # even the best reading is outside
        (30, 10, True, None, "suspected_mock"),
    ],
)
def test_check_in_statuses(
    client: TestClient, world: World, factory: Factory, session: Session,
    distance_m: float, accuracy_m: float, mock: bool, radius_m: float | None, status: str,
):
    customer = place_customer(session, factory, world.division, SHANGHAI, owner=world.rep, radius_m=radius_m)
    lat, lon = destination(*SHANGHAI, 60.0, distance_m)
    body = {"customer_id": customer.id, "lat": lat, "lon": lon, "accuracy_m": accuracy_m, "mock": mock}
    response = client.post(URL, json=body, headers=factory.headers(world.rep))
    assert response.status_code == 201, response.text
    got = response.json()
    assert got["status"] == status
    assert got["distance_m"] == pytest.approx(distance_m, abs=0.5)
    assert got["radius_m"] == (radius_m or 200.0)
    event = session.exec(select(TimelineEvent).where(TimelineEvent.customer_id == customer.id)).one()
    assert (event.kind, event.source_table, event.source_id) == ("checkin", "checkin", got["id"])
    assert event.data["status"] == status


def test_gcj02_input_from_a_chinese_map_picker_is_stored_as_wgs84(
    client: TestClient, world: World, factory: Factory, session: Session
):
    customer = place_customer(session, factory, world.division, SHANGHAI, owner=world.rep)
    lat, lon = wgs84_to_gcj02(*SHANGHAI)  # ~480 m off in WGS-84 terms
    body = {"customer_id": customer.id, "lat": lat, "lon": lon, "accuracy_m": 10, "coords": "gcj02"}
    got = client.post(URL, json=body, headers=factory.headers(world.rep)).json()
    assert got["status"] == "ok" and got["distance_m"] < 1.0
    raw = dict(body, coords="wgs84")
    assert client.post(URL, json=raw, headers=factory.headers(world.rep)).json()["status"] == "outside_geofence"


def test_photo_note_and_retry_with_the_same_client_key(
    client: TestClient, world: World, factory: Factory, session: Session, settings: Settings
):
    customer = place_customer(session, factory, world.division, SHANGHAI, owner=world.rep)
    headers = factory.headers(world.rep)
    body = {"customer_id": customer.id, "lat": SHANGHAI[0], "lon": SHANGHAI[1], "accuracy_m": 8,
            "note": "拜访王经理", "photo": "data:image/jpeg;base64," + _jpeg(), "client_key": "a1b2"}
    first = client.post(URL, json=body, headers=headers)
    again = client.post(URL, json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"] and first.json()["photo"] is True
    assert len(session.exec(select(Checkin)).all()) == 1
    photo = client.get(f"{URL}/{first.json()['id']}/photo", headers=headers)
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    assert photo.content == base64.b64decode(_jpeg())


def test_bad_check_ins_are_clear_errors(client: TestClient, world: World, factory: Factory, session: Session):
    customer = place_customer(session, factory, world.division, SHANGHAI, owner=world.rep)
    headers = factory.headers(world.rep)
    base = {"customer_id": customer.id, "lat": SHANGHAI[0], "lon": SHANGHAI[1]}
    not_image = client.post(URL, json=base | {"photo": base64.b64encode(b"hello").decode()}, headers=headers)
    assert not_image.status_code == 400 and not_image.json()["field"] == "photo"
    nonsense = client.post(URL, json=base | {"lat": 91}, headers=headers)
    assert nonsense.status_code == 422
    other = place_customer(session, factory, world.division, SHANGHAI, owner=world.other_rep)
    hidden = client.post(URL, json=base | {"customer_id": other.id}, headers=headers)
    assert hidden.status_code == 404 and hidden.json()["field"] == "customer_id"
    assert client.post(URL, json=base).status_code == 401
    assert session.exec(select(Checkin)).all() == []


def test_customer_without_coordinates_is_stored_unverified(
    client: TestClient, world: World, factory: Factory, session: Session
):
    customer = factory.customer(world.division, world.rep)
    got = client.post(URL, json={"customer_id": customer.id, "lat": 31.2, "lon": 121.4},
                      headers=factory.headers(world.rep)).json()
    assert (got["status"], got["distance_m"]) == ("unverified", None)


def test_reps_see_their_own_check_ins_managers_their_division(
    client: TestClient, world: World, factory: Factory, session: Session
):
    pool = place_customer(session, factory, world.division, SHANGHAI)
    for rep in (world.rep, world.other_rep):
        client.post(URL, json={"customer_id": pool.id, "lat": SHANGHAI[0], "lon": SHANGHAI[1], "accuracy_m": 5},
                    headers=factory.headers(rep))
    mine = client.get(URL, headers=factory.headers(world.rep)).json()
    assert {c["rep_user_id"] for c in mine} == {world.rep.id}
    assert len(client.get(URL, headers=factory.headers(world.head)).json()) == 2
    outsider = factory.user(world.head.role)
    assert client.get(URL, headers=factory.headers(outsider)).json() == []
