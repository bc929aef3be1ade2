"""The customer timeline (keyset pages, scope, masking), keyword alerts and device status."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from crm.communications import QuarantinedRecord
from crm.devices import Device
from crm.org import Role
from tests.factories import Factory
from tests.ingest.conftest import World, add_phone, ago, call, iso, sms

NUMBER = "+8613812345678"


def _timeline(client: TestClient, headers: dict, customer_id: int, **params: str) -> dict:
    response = client.get(f"/api/v1/customers/{customer_id}/timeline", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_keyset_pages_newest_first_with_type_filter(
    client: TestClient, world: World, session: Session, factory: Factory
) -> None:
    customer = factory.customer(world.division, world.rep)
    add_phone(session, customer, NUMBER)
    same_time = ago(hours=500)
    client.post(
        "/api/v1/ingest/sms",
        headers=world.device_headers,
        json={
            "records": [
                sms(i, "13812345678", f"短信{i}", same_time if i < 5 else ago(minutes=i)) for i in range(90)
            ]
        },
    )
    client.post(
        "/api/v1/ingest/calls",
        headers=world.device_headers,
        json={"records": [call(i, "13812345678", ago(minutes=i, seconds=30)) for i in range(30)]},
    )
    headers = factory.headers(world.rep)
    seen, cursor, pages = [], None, 0
    while True:
        page = _timeline(client, headers, customer.id, limit="50", **({"cursor": cursor} if cursor else {}))
        seen += page["events"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and len(seen) == 120 and len({e["id"] for e in seen}) == 120
    keys = [(e["occurred_at"], e["id"]) for e in seen]
    assert keys == sorted(keys, reverse=True)
    calls = _timeline(client, headers, customer.id, types="call", limit="200")["events"]
    assert len(calls) == 30 and {e["kind"] for e in calls} == {"call"}
    assert calls[0]["data"]["number"] == NUMBER and calls[0]["ambiguous"] is False
    bad = client.get(
        f"/api/v1/customers/{customer.id}/timeline", params={"cursor": "nonsense"}, headers=headers
    )
    assert bad.status_code == 400 and bad.json()["field"] == "cursor"


def test_timeline_scope_and_masking_per_role(
    client: TestClient, world: World, session: Session, factory: Factory
) -> None:
    owned = factory.customer(world.division, world.rep)
    pool = factory.customer(world.division, None)
    for customer in (owned, pool):
        add_phone(session, customer, NUMBER)
    client.post(
        "/api/v1/ingest/calls",
        headers=world.device_headers,
        json={"records": [call(1, "13812345678", ago(hours=1))]},
    )
    executive = factory.user(Role.executive)
    outsider = factory.user(Role.division_head, factory.division())

    def number(user, customer) -> str:
        return _timeline(client, factory.headers(user), customer.id)["events"][0]["data"]["number"]

    assert number(world.rep, owned) == NUMBER  # the owner sees the full number
    assert number(world.rep, pool) == "+86 138****5678"  # a pool customer's number is masked for reps
    assert number(world.other_rep, pool) == "+86 138****5678"
    assert number(world.head, pool) == NUMBER and number(executive, owned) == NUMBER
    for user, customer in ((world.other_rep, owned), (outsider, owned), (factory.user(Role.sysadmin), owned)):
        response = client.get(f"/api/v1/customers/{customer.id}/timeline", headers=factory.headers(user))
        assert response.status_code == 404
    event = _timeline(client, factory.headers(world.head), pool.id)["events"][0]
    assert event["ambiguous"] is True  # the number belongs to both customers


def test_keyword_alerts_for_managers_of_the_division(
    client: TestClient, world: World, factory: Factory, session: Session
) -> None:
    customer = factory.customer(world.division, world.rep)
    add_phone(session, customer, "+8613812345678", valid_from=ago(days=30))
    client.post(
        "/api/v1/ingest/sms",
        headers=world.device_headers,
        json={
            "records": [
                sms(1, "13812345678", "这单走私单，给你回扣两个点", ago(hours=2)),
                sms(2, "13812345678", "明天见", ago(hours=1)),
            ]
        },
    )
    head = factory.headers(world.head)
    alerts = client.get("/api/v1/alerts", headers=head).json()
    assert sorted(a["keyword"] for a in alerts) == ["回扣", "私单"]
    assert all("私单" in a["context"] or "回扣" in a["context"] for a in alerts)
    assert {(a["kind"], a["source_table"], a["customer_id"]) for a in alerts} == {
        ("keyword", "captured_sms", customer.id)
    }
    assert len(client.get("/api/v1/alerts", params={"kind": "keyword"}, headers=head).json()) == 2
    assert client.get("/api/v1/alerts", headers=factory.headers(world.rep)).status_code == 403
    outsider = factory.user(Role.division_head, factory.division())
    assert client.get("/api/v1/alerts", headers=factory.headers(outsider)).json() == []
    executive = factory.headers(factory.user(Role.executive))

    def open_count(headers: dict[str, str]) -> int:
        return client.get("/api/v1/alerts/count", headers=headers).json()["open"]

    assert (open_count(head), open_count(executive), open_count(factory.headers(outsider))) == (2, 2, 0)
    assert client.get("/api/v1/alerts/count", headers=factory.headers(world.rep)).status_code == 403
    acked = client.post(f"/api/v1/alerts/{alerts[0]['id']}/acknowledge", headers=head).json()
    assert acked["status"] == "acknowledged" and acked["acknowledged_by_user_id"] == world.head.id
    assert len(client.get("/api/v1/alerts", headers=head).json()) == 1
    assert open_count(head) == 1


def test_division_keyword_rules(client: TestClient, world: World, factory: Factory) -> None:
    head = factory.headers(world.head)
    url = f"/api/v1/alerts/keywords/{world.division.id}"
    assert "最低价" in client.get(url, headers=head).json()["keywords"]  # defaults
    assert client.put(url, json={"keywords": ["竞品", "底价"]}, headers=head).json()["keywords"] == [
        "底价",
        "竞品",
    ]
    client.post(
        "/api/v1/ingest/sms",
        headers=world.device_headers,
        json={
            "records": [
                sms(1, "13812345678", "竞品给的折扣更大", ago(hours=1)),
            ]
        },
    )
    assert [a["keyword"] for a in client.get("/api/v1/alerts", headers=head).json()] == ["竞品"]
    assert client.put(url, json={"keywords": []}, headers=head).json()["keywords"] == []
    assert client.get(url, headers=head).json()["keywords"] == []
    other = factory.user(Role.division_head, factory.division())
    assert client.put(url, json={"keywords": ["x"]}, headers=factory.headers(other)).status_code == 403


def test_device_status_keeps_the_newest_report(client: TestClient, world: World, session: Session) -> None:
    report = {
        "occurred_at": iso(ago(minutes=5)),
        "battery": {
            "level": 85,
            "scale": 100,
            "status": "charging",
            "plugged": ["usb"],
            "temperature_c": 25.0,
        },
        "storage": {"total_bytes": 64_000_000_000, "free_bytes": 12_000_000_000},
        "properties": {"ro.product.model": "M2012K11AC", "persist.sys.timezone": "Asia/Shanghai"},
        "last_sync": {"sms": iso(ago(minutes=6)), "calls": iso(ago(minutes=6))},
    }
    url = "/api/v1/ingest/device-status"
    assert client.post(url, json=report, headers=world.device_headers).json()["status"] == "accepted"
    older = report | {"occurred_at": iso(ago(hours=1)), "battery": {"level": 10}}
    assert client.post(url, json=older, headers=world.device_headers).json()["status"] == "stale"
    session.expire_all()
    status = session.get(Device, world.device.id).status
    assert status["battery"]["level"] == 85 and status["storage"]["free_bytes"] == 12_000_000_000
    bad = client.post(
        url,
        json={"occurred_at": iso(ago(minutes=1)), "battery": {"level": 120, "scale": 100}},
        headers=world.device_headers,
    )
    assert bad.status_code == 422 and "exceeds scale" in bad.json()["detail"]
    assert session.exec(select(QuarantinedRecord)).one().source == "device_status"
