"""A recording's call set by hand: managers of its division only, audited, timelines follow, and
automatic matching leaves it alone afterwards."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from crm.audit import AuditLog
from crm.communications import CapturedCall, Recording
from crm.devices import Device
from crm.org import Role
from crm.types import utcnow
from server.auth.service import issue_device_token
from tests.factories import Factory
from tests.ingest.conftest import MP3, World, add_phone, ago, call, iso, upload

X, Y = "+8613812345678", "+8613912345678"  # the file name says 13812345678


def _timeline(client: TestClient, headers: dict, customer_id: int) -> list[dict]:
    response = client.get(f"/api/v1/customers/{customer_id}/timeline", headers=headers)
    assert response.status_code == 200, response.text
    return [e for e in response.json()["events"] if e["kind"] in ("call", "recording")]


def _two_calls_and_a_recording(
    client: TestClient, world: World, session: Session
) -> tuple[datetime, dict[str | None, int | None], int]:
    """A call with X (recorded: the recording matches it) and a later one with Y."""
    started = ago(hours=3)
    client.post(
        "/api/v1/ingest/calls",
        json={"records": [call(1, "13812345678", started), call(2, "13912345678", ago(hours=2))]},
        headers=world.device_headers,
    )
    calls = {c.number_e164: c.id for c in session.exec(select(CapturedCall))}
    recording_id = upload(client, world.device_headers, MP3, started_at=iso(started))["recording_id"]
    return started, calls, recording_id


def test_manager_moves_a_recording_to_another_call_and_unmatches_it(
    client: TestClient, world: World, session: Session, factory: Factory
) -> None:
    a = factory.customer(world.division, world.rep, name="甲")
    b = factory.customer(world.division, world.rep, name="乙")
    add_phone(session, a, X)
    add_phone(session, b, Y)
    started, calls, recording_id = _two_calls_and_a_recording(client, world, session)
    assert session.get(Recording, recording_id).call_id == calls[X]  # matched automatically
    head = factory.headers(world.head)
    assert next(e["recording"] for e in _timeline(client, head, a.id))["id"] == recording_id

    url = f"/api/v1/recordings/{recording_id}/call"
    moved = client.put(url, json={"call_id": calls[Y]}, headers=head)
    assert moved.status_code == 200, moved.text
    assert (moved.json()["call_id"], moved.json()["customer_id"], moved.json()["number"]) == (
        calls[Y],
        b.id,
        Y,
    )
    assert [e["recording"] for e in _timeline(client, head, a.id)] == [None]
    assert [e["recording"]["id"] for e in _timeline(client, head, b.id) if e["recording"]] == [recording_id]

    unmatched = client.put(url, json={"call_id": None}, headers=head)
    assert unmatched.status_code == 200, unmatched.text
    assert unmatched.json()["call_id"] is None and unmatched.json()["number"] == X  # its own number again
    events = _timeline(client, head, a.id)
    assert [(e["kind"], e["source_id"]) for e in events if e["kind"] == "recording"] == [
        ("recording", recording_id)
    ]
    assert all(e["recording"] is None for e in _timeline(client, head, b.id) if e["kind"] == "call")
    # a later call batch in the same window does not match it again
    client.post(
        "/api/v1/ingest/calls",
        json={"records": [call(3, "13812345678", started)]},
        headers=world.device_headers,
    )
    session.expire_all()
    assert session.get(Recording, recording_id).call_id is None
    audits = session.exec(
        select(AuditLog).where(AuditLog.action == "recording.call.set").order_by(AuditLog.id)
    )
    assert [(a.detail["from_call_id"], a.detail["to_call_id"]) for a in audits] == [
        (calls[X], calls[Y]),
        (calls[Y], None),
    ]


def test_only_managers_of_the_division_and_only_calls_of_that_phone(
    client: TestClient, world: World, session: Session, factory: Factory
) -> None:
    started, calls, recording_id = _two_calls_and_a_recording(client, world, session)
    url = f"/api/v1/recordings/{recording_id}/call"
    body = {"call_id": calls[Y]}

    assert client.put(url, json=body, headers=factory.headers(world.rep)).status_code == 403
    outsider = factory.user(Role.division_head, factory.division())
    assert client.put(url, json=body, headers=factory.headers(outsider)).status_code == 404
    assert client.put(url, json=body, headers=factory.headers(factory.user(Role.sysadmin))).status_code == 404
    for bad in ({"call_id": "x"}, {}, {"call_id": 1, "extra": 1}):
        response = client.put(url, json=bad, headers=factory.headers(world.head))
        assert response.status_code == 422 and response.json()["field"], response.text
    assert client.put(url, json={"call_id": 999_999}, headers=factory.headers(world.head)).status_code == 404

    other = Device(serial="CAPTURE-3", division_id=world.division.id, rep_user_id=world.other_rep.id)
    session.add(other)
    session.flush()
    other_headers = {"Authorization": f"Bearer {issue_device_token(session, device=other, now=utcnow())}"}
    session.commit()
    client.post(
        "/api/v1/ingest/calls", json={"records": [call(9, "13912345678", started)]}, headers=other_headers
    )
    foreign = session.exec(select(CapturedCall).where(CapturedCall.device_id == other.id)).one()
    response = client.put(url, json={"call_id": foreign.id}, headers=factory.headers(world.head))
    assert response.status_code == 404 and response.json()["field"] == "call_id"

    admin = factory.user(Role.division_admin, world.division)
    assert client.put(url, json=body, headers=factory.headers(admin)).status_code == 200
    second = upload(client, world.device_headers, MP3[:-10], file_name="other.mp3")["recording_id"]
    taken = client.put(f"/api/v1/recordings/{second}/call", json=body, headers=factory.headers(world.head))
    assert taken.status_code == 409
    not_matched = client.put(
        f"/api/v1/recordings/{second}/call", json={"call_id": None}, headers=factory.headers(world.head)
    )
    assert not_matched.status_code == 409
    executive = factory.user(Role.executive)
    assert client.put(url, json={"call_id": None}, headers=factory.headers(executive)).status_code == 200
