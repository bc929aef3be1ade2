"""The dispatcher's live map: rep markers that move as fixes arrive, and the clustered customers layer."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from crm.org import Role
from tests.dashboard.conftest import wait_until
from tests.factories import Factory

REP_ALL_MARKERS = "() => window.fieldcrmLive && window.fieldcrmLive.markers.size"


def test_markers_move_when_new_fixes_arrive(browse, factory: Factory, phones, shot) -> None:  # type: ignore[no-untyped-def]
    division = factory.division()
    head = factory.user(Role.division_head, division)
    reps = [factory.user(Role.rep, division) for _ in range(3)]
    tokens = [phones.phone(rep) for rep in reps]
    for k, token in enumerate(tokens):
        phones.fix(token, 31.2304 + k * 0.01, 121.4737 + k * 0.01, battery=15 if k == 0 else 80)
    page = browse.login(head)
    page.goto("/map?refresh=1")
    wait_until(page, f"{REP_ALL_MARKERS} === 3")
    before = page.evaluate(f"window.fieldcrmLive.position({reps[0].id})")
    assert before == [31.2304, 121.4737]
    assert page.inner_text("[data-count=fresh] b") == "3"
    phones.fix(tokens[0], 31.2404, 121.4837)
    wait_until(page, f"window.fieldcrmLive.position({reps[0].id})[0] > 31.24")
    assert page.locator("#rep-list li").count() == 3
    shot(page, "live-map")


def test_gaode_tiles_shift_markers_to_gcj02(browse, factory: Factory, phones) -> None:  # type: ignore[no-untyped-def]
    division = factory.division()
    head = factory.user(Role.division_head, division)
    rep = factory.user(Role.rep, division)
    phones.fix(phones.phone(rep), 31.2304, 121.4737)
    page = browse.login(head)
    page.goto("/map?tiles=gaode")
    wait_until(page, f"{REP_ALL_MARKERS} === 1")
    lat, lon = page.evaluate(f"window.fieldcrmLive.position({rep.id})")
    # Shanghai's WGS-84 → GCJ-02 offset is about 480 m, mostly to the east-south-east.
    assert 0.001 < lat - 31.2304 < 0.003 or -0.003 < lat - 31.2304 < -0.001
    assert 0.003 < lon - 121.4737 < 0.006


def test_customer_layer_clusters_then_points(client: TestClient, factory: Factory, session: Session) -> None:
    division = factory.division()
    head = factory.user(Role.division_head, division)
    other = factory.division()
    for k in range(30):
        customer = factory.customer(division if k < 25 else other)
        customer.lat, customer.lon = 31.20 + (k % 5) * 0.001, 121.40 + (k // 5) * 0.001
        session.add(customer)
    session.commit()
    headers = factory.headers(head)
    box = "31.1,121.3,31.3,121.5"
    far = client.get(f"/map/customers.geojson?bbox={box}&zoom=10", headers=headers).json()
    assert [f["properties"]["count"] for f in far["features"]] == [25]
    near = client.get(f"/map/customers.geojson?bbox={box}&zoom=17", headers=headers).json()
    assert len(near["features"]) == 25
    assert all(f["properties"]["count"] == 1 and f["properties"]["name"] for f in near["features"])
    bad = client.get("/map/customers.geojson?bbox=1,2,3&zoom=10", headers=headers)
    assert bad.status_code == 422 and bad.json()["field"] == "bbox"


def test_reps_may_not_open_the_live_map(client: TestClient, factory: Factory) -> None:
    rep = factory.user(Role.rep)
    response = client.get("/map", headers=factory.headers(rep))
    assert response.status_code == 403
    assert "无权" in response.text
