"""Nearby and nearest customers through SQL grid cells agree with brute force; access scope holds."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from crm.customers import Customer
from crm.errors import DomainError
from crm.geo import GEOCELL_LEVEL, geocell, set_position
from crm.org import Role
from lbs.cells import cell_of
from lbs.coords import wgs84_to_gcj02
from lbs.geo import haversine_np
from lbs.simulate import random_sites
from server.locations.nearby import customers_within, nearest_customers
from tests.factories import Factory
from tests.locations.conftest import SHANGHAI, World

N = 1500


@pytest.fixture
def scattered(world: World, session: Session) -> list[Customer]:
    rng = np.random.default_rng(7)
    points = random_sites(SHANGHAI, 30_000, N, rng)
    rows = []
    for k, (lat, lon) in enumerate(points):
        row = Customer(division_id=world.division.id, name=f"C{k}", owner_id=None)
        set_position(row, lat, lon)
        rows.append(row)
    session.add_all(rows)
    session.commit()
    return rows


def _brute(rows: list[Customer], lat: float, lon: float) -> tuple[list[int], np.ndarray]:
    d = haversine_np(lat, lon, np.array([r.lat for r in rows]), np.array([r.lon for r in rows]))
    order = np.lexsort((np.array([r.id for r in rows]), d))
    return [rows[i].id for i in order], d[order]


@pytest.mark.parametrize("radius_m", [0.0, 300.0, 2_500.0, 12_000.0, 45_000.0])
def test_within_equals_brute_force(session: Session, world: World, scattered: list[Customer], radius_m: float):
    rng = np.random.default_rng(int(radius_m))
    for lat, lon in random_sites(SHANGHAI, 35_000, 5, rng):
        ids, dist = _brute(scattered, lat, lon)
        expected = [i for i, d in zip(ids, dist, strict=True) if d <= radius_m]
        got = customers_within(session, actor=world.head, lat=lat, lon=lon, radius_m=radius_m)
        assert [c.id for c in got] == expected


@pytest.mark.parametrize("k", [1, 7, 60])
def test_nearest_equals_brute_force(session: Session, world: World, scattered: list[Customer], k: int):
    rng = np.random.default_rng(k)
    for lat, lon in random_sites(SHANGHAI, 60_000, 5, rng):  # some points outside the cloud
        ids, dist = _brute(scattered, lat, lon)
        got = nearest_customers(session, actor=world.head, lat=lat, lon=lon, k=k)
        assert [c.id for c in got] == ids[:k]
        assert [c.distance_m for c in got] == pytest.approx(list(dist[:k]))


def test_within_across_the_antimeridian_and_around_a_pole(session: Session, world: World):
    places = {"east": (10.0, 179.999), "west": (10.0, -179.999), "polar": (89.99, 10.0), "other side": (89.99, -170.0)}
    ids = {}
    for name, (lat, lon) in places.items():
        row = Customer(division_id=world.division.id, name=name)
        set_position(row, lat, lon)
        session.add(row)
        session.flush()
        ids[name] = row.id
    session.commit()
    across = customers_within(session, actor=world.head, lat=10.0, lon=180.0, radius_m=500)
    assert {c.id for c in across} == {ids["east"], ids["west"]}
    pole = customers_within(session, actor=world.head, lat=89.995, lon=0.0, radius_m=5000)  # every longitude
    assert {c.id for c in pole} == {ids["polar"], ids["other side"]}


def test_api_scope_and_gcj02(client: TestClient, world: World, factory: Factory, session: Session):
    mine = factory.customer(world.division, world.rep)
    theirs = factory.customer(world.division, world.other_rep)
    elsewhere = factory.customer(factory.division(), None)
    for c in (mine, theirs, elsewhere):
        set_position(c, *SHANGHAI)
        session.add(c)
    session.commit()
    params = {"lat": SHANGHAI[0], "lon": SHANGHAI[1], "radius_m": 100}
    as_rep = client.get("/api/v1/locations/customers/nearby", params=params, headers=factory.headers(world.rep))
    assert [c["id"] for c in as_rep.json()] == [mine.id]
    as_head = client.get("/api/v1/locations/customers/nearest", params={**params, "k": 5},
                         headers=factory.headers(world.head)).json()
    assert {c["id"] for c in as_head} == {mine.id, theirs.id}
    g_lat, g_lon = wgs84_to_gcj02(*SHANGHAI)
    gcj = client.get("/api/v1/locations/customers/nearby", headers=factory.headers(world.rep),
                     params={"lat": g_lat, "lon": g_lon, "radius_m": 5, "coords": "gcj02"}).json()
    assert gcj[0]["lat"] == pytest.approx(g_lat, abs=1e-6) and gcj[0]["distance_m"] < 1
    sysadmin = factory.user(Role.sysadmin)
    assert client.get("/api/v1/locations/customers/nearby", params=params,
                      headers=factory.headers(sysadmin)).json() == []
    too_far = client.get("/api/v1/locations/customers/nearby", params={**params, "radius_m": 1e6},
                         headers=factory.headers(world.rep))
    assert too_far.status_code == 422


def test_geocell_follows_the_coordinates():
    assert geocell(*SHANGHAI) == cell_of(*SHANGHAI, GEOCELL_LEVEL)
    assert geocell(None, None) is None
    with pytest.raises(DomainError) as half:
        geocell(31.2, None, field="address.lat")
    assert half.value.field == "address.lat"
    with pytest.raises(DomainError):
        geocell(95.0, 10.0)
    row = Customer(division_id=1, name="x")
    set_position(row, *SHANGHAI)
    assert (row.lat, row.lon, row.geocell) == (*SHANGHAI, geocell(*SHANGHAI))
    set_position(row, None, None)
    assert row.geocell is None
