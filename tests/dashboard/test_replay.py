"""Trajectory replay: a rep's day drawn from fixes uploaded by the agent and a check-in at a customer."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from fastapi.testclient import TestClient
from sqlmodel import Session

from crm.org import Role
from tests.dashboard.conftest import wait_until
from tests.factories import Factory

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICE = (31.2000, 121.4000)
CUSTOMER = (31.2200, 121.4300)


def _drive(
    start: datetime, a: tuple[float, float], b: tuple[float, float], minutes: int
) -> list[tuple[datetime, float, float]]:
    steps = minutes * 2
    return [
        (
            start + timedelta(seconds=30 * k),
            a[0] + (b[0] - a[0]) * k / steps,
            a[1] + (b[1] - a[1]) * k / steps,
        )
        for k in range(1, steps + 1)
    ]


def _day_of_fixes(day: date) -> list[tuple[datetime, float, float]]:
    """Office → customer (20 min), 30 min there, back to the office."""
    nine = datetime(day.year, day.month, day.day, 9, 0, tzinfo=SHANGHAI)
    points = [(nine, *OFFICE)]
    points += _drive(nine, OFFICE, CUSTOMER, 20)
    there = nine + timedelta(minutes=20)
    points += [
        (there + timedelta(minutes=m), CUSTOMER[0] + 0.00002 * (m % 3), CUSTOMER[1]) for m in range(1, 31)
    ]
    points += _drive(there + timedelta(minutes=30), CUSTOMER, OFFICE, 20)
    return points


def test_replay_draws_track_stops_and_checkins(
    browse, factory: Factory, session: Session, phones, shot
) -> None:  # type: ignore[no-untyped-def]
    division = factory.division()
    head = factory.user(Role.division_head, division)
    rep = factory.user(Role.rep, division)
    customer = factory.customer(division, rep, name="上海浦东机电有限公司")
    customer.lat, customer.lon = CUSTOMER
    session.add(customer)
    session.commit()
    day = datetime.now(SHANGHAI).date() - timedelta(days=1)
    phones.batch(phones.phone(rep), _day_of_fixes(day))
    checkin_at = datetime(day.year, day.month, day.day, 9, 30, tzinfo=SHANGHAI)
    response = httpx.post(
        f"{browse.base_url}/api/v1/checkins",
        json={
            "customer_id": customer.id,
            "lat": CUSTOMER[0],
            "lon": CUSTOMER[1],
            "accuracy_m": 15,
            "occurred_at": checkin_at.isoformat(),
        },
        headers=factory.headers(rep),
    )
    assert response.status_code == 201, response.text

    page = browse.login(head)
    page.goto("/replay")
    page.select_option("select[name=rep]", str(rep.id))
    page.fill("input[name=day]", day.isoformat())
    page.click("#replay-pick button[type=submit]")
    page.wait_for_selector("#replay-figures")
    state = wait_until(
        page, "window.fieldcrmReplay && window.fieldcrmReplay.trackPoints > 1 && window.fieldcrmReplay"
    )
    assert state["stops"] >= 1 and state["checkins"] == 1
    assert "上海浦东机电有限公司" in page.inner_text("#replay-checkins")
    assert "正常" in page.inner_text("#replay-checkins")
    assert "上海浦东机电有限公司" in page.inner_text("#replay-stops")
    page.locator("#replay-slider").fill(str(state["trackPoints"] // 2))
    assert page.inner_text("#replay-clock") != "—"
    shot(page, "replay")


def test_replay_of_someone_out_of_scope_is_not_found(client: TestClient, factory: Factory) -> None:
    head = factory.user(Role.division_head)
    stranger = factory.user(Role.rep)
    response = client.get(f"/replay?rep={stranger.id}", headers=factory.headers(head))
    assert response.status_code == 404
