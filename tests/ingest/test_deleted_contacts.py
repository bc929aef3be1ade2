"""A customer's entry deleted from a company phone raises an alert for the division's managers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, select

import server.ingest.contacts
from crm.communications import CaptureAlert, CapturedContact
from crm.org import Role
from crm.timeline import TimelineEvent
from tests.factories import Factory
from tests.ingest.conftest import World, add_phone, ago, iso
from tests.ingest.test_contacts import URL, contact

CUSTOMER_NUMBER = "+8613912345678"


def _delete(client: TestClient, world: World, *source_ids: int, at: str | None = None) -> dict:
    records = [{"source_id": s, "deleted": True, "updated_at": at or iso(ago(minutes=5))} for s in source_ids]
    response = client.post(URL, json={"records": records}, headers=world.device_headers)
    assert response.status_code == 200, response.text
    return response.json()


def _alerts(client: TestClient, factory: Factory, world: World) -> list[dict]:
    response = client.get("/api/v1/alerts", headers=factory.headers(world.head))
    assert response.status_code == 200, response.text
    return response.json()


def test_deleting_a_customers_entry_raises_one_alert(
    client: TestClient, world: World, session: Session, factory: Factory
) -> None:
    customer = factory.customer(world.division, world.rep, name="华星科技")
    add_phone(session, customer, CUSTOMER_NUMBER, valid_from=ago(days=30))
    entries = [
        contact(1, "张总", "139 1234 5678", company="华星科技"),
        contact(2, "老同学", "13700000002"),  # nobody's customer
        contact(3, "王工", "13600000003", "13912345678"),  # the customer's number second
    ]
    client.post(URL, json={"records": entries}, headers=world.device_headers)
    deleted_at = ago(minutes=10)
    body = _delete(client, world, 1, 2, 3, at=iso(deleted_at))
    assert [r["status"] for r in body["results"]] == ["accepted"] * 3

    alerts = sorted(_alerts(client, factory, world), key=lambda a: a["source_id"])
    assert [(a["kind"], a["keyword"], a["context"], a["source_table"]) for a in alerts] == [
        ("contact_deleted", "", "张总 · 华星科技", "captured_contact"),
        ("contact_deleted", "", "王工", "captured_contact"),
    ]
    assert {(a["rep_user_id"], a["device_id"], a["occurred_at"], a["customer_id"]) for a in alerts} == {
        (world.rep.id, world.device.id, iso(deleted_at), customer.id)
    }
    acknowledged = client.post(f"/api/v1/alerts/{alerts[0]['id']}/acknowledge", headers=factory.headers(world.head))
    assert (acknowledged.json()["status"], acknowledged.json()["customer_id"]) == ("acknowledged", customer.id)
    timeline = client.get(
        f"/api/v1/customers/{customer.id}/timeline",
        params={"types": "contact_deleted"},
        headers=factory.headers(world.rep),
    ).json()
    assert sorted((e["summary"], e["actor_user_id"], e["occurred_at"]) for e in timeline["events"]) == [
        ("张总 · 华星科技", world.rep.id, iso(deleted_at)),
        ("王工", world.rep.id, iso(deleted_at)),
    ]
    # the same deletion again: no second alert
    assert _delete(client, world, 1)["results"][0]["status"] == "duplicate"
    assert len(_alerts(client, factory, world)) == 1  # the other one is acknowledged
    head = factory.headers(world.head)
    listed = client.get("/api/v1/alerts", params={"status": "all", "kind": "contact_deleted"}, headers=head)
    assert len(listed.json()) == 2
    assert client.get("/api/v1/alerts", params={"status": "all", "kind": "keyword"}, headers=head).json() == []
    for bad in ({"status": "closed"}, {"kind": "other"}):
        assert client.get("/api/v1/alerts", params=bad, headers=head).status_code == 422
    # managers of another division do not see it, reps have no alerts
    elsewhere = factory.user(Role.division_head, factory.division())
    assert client.get("/api/v1/alerts", headers=factory.headers(elsewhere)).json() == []
    assert client.get("/api/v1/alerts", headers=factory.headers(world.rep)).status_code == 403


def test_the_number_counts_as_the_customers_when_the_entry_was_deleted(
    client: TestClient, world: World, session: Session, factory: Factory
) -> None:
    customer = factory.customer(world.division, world.rep)
    add_phone(session, customer, CUSTOMER_NUMBER, valid_from=ago(days=30), valid_to=ago(days=2))
    entries = [contact(1, "张总", "13912345678"), contact(2, "张总 (旧)", "13912345678")]
    client.post(URL, json={"records": entries}, headers=world.device_headers)
    _delete(client, world, 1, at=iso(ago(days=1)))  # the customer had given the number up by then
    assert _alerts(client, factory, world) == []
    _delete(client, world, 2, at=iso(ago(days=3)))  # still the customer's
    assert [a["context"] for a in _alerts(client, factory, world)] == ["张总 (旧)"]


def test_excluding_the_number_removes_the_entry_and_its_alert(
    client: TestClient, world: World, session: Session, factory: Factory
) -> None:
    customer = factory.customer(world.division, world.rep)
    add_phone(session, customer, CUSTOMER_NUMBER, valid_from=ago(days=30))
    client.post(URL, json={"records": [contact(1, "张总", "13912345678")]}, headers=world.device_headers)
    _delete(client, world, 1)
    assert len(_alerts(client, factory, world)) == 1
    excluded = client.post(
        "/api/v1/ingest/exclusions", json={"number": "13912345678"}, headers=factory.headers(world.head)
    )
    assert excluded.status_code == 201, excluded.text
    session.expire_all()
    assert session.execute(select(func.count()).select_from(CapturedContact)).scalar_one() == 0
    assert session.execute(select(func.count()).select_from(CaptureAlert)).scalar_one() == 0
    assert session.execute(select(func.count()).select_from(TimelineEvent)).scalar_one() == 0


def test_a_failing_alert_step_loses_no_deletion(
    client: TestClient, world: World, session: Session, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = factory.customer(world.division, world.rep)
    add_phone(session, customer, CUSTOMER_NUMBER, valid_from=ago(days=30))
    client.post(URL, json={"records": [contact(1, "张总", "13912345678")]}, headers=world.device_headers)

    def broken(*_args: object) -> list[dict]:
        raise RuntimeError("phone book unavailable")

    monkeypatch.setattr(server.ingest.contacts, "deleted_customer_entries", broken)
    assert _delete(client, world, 1)["results"][0]["status"] == "accepted"
    session.expire_all()
    assert session.exec(select(CapturedContact.deleted_at)).one() is not None
    assert _alerts(client, factory, world) == []
    assert session.execute(select(func.count()).select_from(TimelineEvent)).scalar_one() == 0
