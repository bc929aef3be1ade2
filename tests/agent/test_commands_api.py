"""The server side of the command channel: who may queue commands, bad input, claiming (one winner
when agents race), leases and timeouts, presence."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from crm.audit import AuditLog
from crm.devices import Device
from crm.org import Division, Role, User
from crm.types import utcnow
from server.agent_commands.models import AgentCommand, AgentPresence
from server.agent_commands.service import MAX_ATTEMPTS, Poll, Timeouts, expire_commands, poll_commands
from server.auth.service import issue_device_token
from tests.factories import Factory

TIMEOUTS = Timeouts(lease_s=60, queue_s=600)


def _phone(session: Session, division: Division, serial: str = "PHONE-1") -> tuple[Device, str]:
    device = Device(serial=serial, division_id=division.id)  # type: ignore[arg-type]
    session.add(device)
    session.flush()
    token = issue_device_token(session, device=device, now=utcnow())
    session.commit()
    return device, token


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _poll_body(**overrides: Any) -> dict[str, Any]:
    return {"adb_state": "device", "adb_serial": "127.0.0.1:5555", "host": "office-pc"} | overrides


@pytest.fixture
def division(factory: Factory) -> Division:
    return factory.division()


@pytest.fixture
def it_admin(factory: Factory, division: Division) -> User:
    return factory.user(Role.division_admin, division)


def test_admin_queues_a_command_once_and_it_is_audited(
    client: TestClient, factory: Factory, session: Session, division: Division, it_admin: User
) -> None:
    device, _ = _phone(session, division)
    headers = factory.headers(it_admin)
    first = client.post(f"/api/v1/devices/{device.id}/commands", json={"kind": "sync"}, headers=headers)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["state"] == "queued" and body["kind"] == "sync" and body["requested_by_user_id"] == it_admin.id
    again = client.post(f"/api/v1/devices/{device.id}/commands", json={"kind": "sync"}, headers=headers)
    assert again.status_code == 200 and again.json()["id"] == body["id"]  # a double click queues nothing new
    other = client.post(f"/api/v1/devices/{device.id}/commands", json={"kind": "provision"}, headers=headers)
    assert other.status_code == 201 and other.json()["id"] != body["id"]
    listed = client.get(f"/api/v1/devices/{device.id}/commands", headers=headers).json()
    assert [c["kind"] for c in listed] == ["provision", "sync"]
    audit = session.exec(select(AuditLog).where(AuditLog.action == "device.command")).all()
    assert sorted(a.detail["kind"] for a in audit) == ["provision", "sync"]
    assert {a.actor_user_id for a in audit} == {it_admin.id} and {a.target_id for a in audit} == {str(device.id)}


@pytest.mark.parametrize(
    ("role", "same_division", "status"),
    [
        (Role.sysadmin, False, 201),
        (Role.division_admin, True, 201),
        (Role.division_admin, False, 404),  # another division's phone is not even visible
        (Role.division_head, True, 403),
        (Role.executive, False, 403),
    ],
)
def test_who_may_queue_commands(
    client: TestClient, factory: Factory, session: Session, division: Division, role: Role, same_division: bool,
    status: int,
) -> None:
    device, _ = _phone(session, division)
    user = factory.user(role, division if same_division else None)
    response = client.post(f"/api/v1/devices/{device.id}/commands", json={"kind": "sync"}, headers=factory.headers(user))
    assert response.status_code == status, response.text
    assert (response.json()["state"] == "queued") if status == 201 else response.json()["detail"]


def test_a_rep_may_not_command_their_own_phone_nor_see_its_commands(
    client: TestClient, factory: Factory, session: Session, division: Division, it_admin: User
) -> None:
    rep = factory.user(Role.rep, division)
    device, _ = _phone(session, division)
    device.rep_user_id = rep.id
    session.add(device)
    session.commit()
    client.post(f"/api/v1/devices/{device.id}/commands", json={"kind": "sync"}, headers=factory.headers(it_admin))
    refused = client.post(f"/api/v1/devices/{device.id}/commands", json={"kind": "sync"}, headers=factory.headers(rep))
    assert refused.status_code == 403
    assert client.get(f"/api/v1/devices/{device.id}/commands", headers=factory.headers(rep)).json() == []
    assert client.post(f"/api/v1/devices/{device.id}/commands", json={"kind": "sync"}).status_code == 401


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("/api/v1/devices/{id}/commands", {"kind": "reboot"}, 422, "kind"),
        ("/api/v1/devices/{id}/commands", {"kind": "sync", "shell": "rm -rf /"}, 422, "shell"),
        ("/api/v1/devices/{id}/commands", {}, 422, "kind"),
        ("/api/v1/devices/{id}/commands", ["sync"], 422, None),
        ("/api/v1/devices/abc/commands", {"kind": "sync"}, 422, "device_id"),
        ("/api/v1/devices/99999999999999999999/commands", {"kind": "sync"}, 422, "device_id"),
        ("/api/v1/devices/2147483000/commands", {"kind": "sync"}, 404, "device_id"),
    ],
)
def test_bad_command_requests_get_4xx_with_the_field(
    client: TestClient, factory: Factory, session: Session, division: Division, it_admin: User,
    path: str, body: Any, status: int, field: str | None,
) -> None:
    device, _ = _phone(session, division)
    response = client.post(path.format(id=device.id), json=body, headers=factory.headers(it_admin))
    assert response.status_code == status, response.text
    assert response.json()["detail"]
    if field:
        assert response.json()["field"] == field


def test_malformed_json_and_revoked_phones_are_refused(
    client: TestClient, factory: Factory, session: Session, division: Division, it_admin: User
) -> None:
    device, token = _phone(session, division)
    headers = factory.headers(it_admin) | {"Content-Type": "application/json"}
    broken = client.post(f"/api/v1/devices/{device.id}/commands", content=b'{"kind": "sy', headers=headers)
    assert broken.status_code == 422 and "malformed JSON" in broken.json()["detail"]
    client.post(f"/api/v1/devices/{device.id}/revoke", headers=headers)
    revoked = client.post(f"/api/v1/devices/{device.id}/commands", json={"kind": "sync"}, headers=headers)
    assert revoked.status_code == 409 and revoked.json()["field"] == "device_id"
    assert client.post("/api/v1/agent/commands/poll", json=_poll_body(), headers=_bearer(token)).status_code == 401


def test_agent_claims_runs_and_reports_a_command(
    client: TestClient, factory: Factory, session: Session, division: Division, it_admin: User
) -> None:
    device, token = _phone(session, division)
    other_device, other_token = _phone(session, division, "PHONE-2")
    headers = factory.headers(it_admin)
    queued = client.post(f"/api/v1/devices/{device.id}/commands", json={"kind": "sync"}, headers=headers).json()

    assert client.post("/api/v1/agent/commands/poll", json=_poll_body(), headers=_bearer(other_token)).json() == {
        "command": None}  # another phone's token sees nothing of it
    claimed = client.post("/api/v1/agent/commands/poll", json=_poll_body(), headers=_bearer(token)).json()["command"]
    assert claimed["id"] == queued["id"] and claimed["state"] == "claimed" and claimed["claimed_by"] == "office-pc"
    assert claimed["attempts"] == 1
    assert client.post("/api/v1/agent/commands/poll", json=_poll_body(running=[claimed["id"]], claim=False),
                       headers=_bearer(token)).json() == {"command": None}

    stolen = client.post(f"/api/v1/agent/commands/{claimed['id']}/finish", json={"state": "done"},
                         headers=_bearer(other_token))
    assert stolen.status_code == 404 and stolen.json()["field"] == "command_id"
    result = {"result": "ok", "uploaded": {"sms": 12}}
    done = client.post(f"/api/v1/agent/commands/{claimed['id']}/finish",
                       json={"state": "done", "message": "ok: uploaded sms 12", "result": result}, headers=_bearer(token))
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "done" and done.json()["result"] == result and done.json()["finished_at"]
    twice = client.post(f"/api/v1/agent/commands/{claimed['id']}/finish", json={"state": "failed"},
                        headers=_bearer(token))
    assert twice.status_code == 409
    read = client.get(f"/api/v1/agent-commands/{claimed['id']}", headers=headers).json()
    assert read["state"] == "done" and read["message"] == "ok: uploaded sms 12"
    presence = session.get(AgentPresence, device.id)
    assert presence is not None and (presence.adb_state, presence.agent_host) == ("device", "office-pc")
    assert session.get(AgentPresence, other_device.id) is not None


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("poll", {"adb_state": "DROP TABLE"}, "adb_state"),
        ("poll", {"adb_state": "device", "running": list(range(1, 30))}, "running"),
        ("poll", {"adb_state": "device", "running": [0]}, "running.0"),
        ("poll", {"adb_state": "device", "host": "x" * 101}, "host"),
        ("poll", {"adb_state": "device", "claim": "yes please"}, "claim"),
        ("finish", {"state": "exploded"}, "state"),
        ("finish", {"state": "done", "message": "m" * 501}, "message"),
        ("finish", {"state": "done", "result": {"blob": "x" * 70_000}}, "result"),
        ("finish", {"state": "done", "result": [1, 2]}, "result"),
    ],
)
def test_bad_agent_reports_get_422_with_the_field(
    client: TestClient, session: Session, division: Division, path: str, body: Any, field: str
) -> None:
    _, token = _phone(session, division)
    url = "/api/v1/agent/commands/poll" if path == "poll" else "/api/v1/agent/commands/1/finish"
    response = client.post(url, json=body, headers=_bearer(token))
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


def test_agent_endpoints_need_a_device_token(client: TestClient, factory: Factory, it_admin: User) -> None:
    assert client.post("/api/v1/agent/commands/poll", json=_poll_body()).status_code == 401
    user_token = client.post("/api/v1/agent/commands/poll", json=_poll_body(), headers=factory.headers(it_admin))
    assert user_token.status_code == 401
    forged = client.post("/api/v1/agent/commands/poll", json=_poll_body(), headers=_bearer("fcd_forged"))
    assert forged.status_code == 401


def _poll_at_once(agents: list[httpx.Client], token: str) -> list[httpx.Response | None]:
    """Every agent polls for the phone at the same moment (released together by a barrier)."""
    barrier = threading.Barrier(len(agents))
    responses: list[httpx.Response | None] = [None] * len(agents)

    def poll(index: int) -> None:
        barrier.wait()
        responses[index] = agents[index].post("/api/v1/agent/commands/poll", json=_poll_body(host=f"pc-{index}"),
                                              headers=_bearer(token))

    threads = [threading.Thread(target=poll, args=(i,)) for i in range(len(agents))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return responses


def test_two_agents_polling_at_once_claim_each_command_exactly_once(
    live_server: str, factory: Factory, session: Session, division: Division, it_admin: User
) -> None:
    """Two agents (say, two watch processes sharing a state folder) poll for the same phone at the
    same moment, over HTTP, round after round: every command goes to exactly one of them."""
    device, token = _phone(session, division)
    headers = factory.headers(it_admin)
    rounds = 12
    winners: list[int] = []
    with httpx.Client(base_url=live_server, timeout=30) as admin, \
            httpx.Client(base_url=live_server, timeout=30) as first, \
            httpx.Client(base_url=live_server, timeout=30) as second:
        for round_ in range(rounds):
            kind = ("sync", "provision")[round_ % 2]
            command = admin.post(f"/api/v1/devices/{device.id}/commands", json={"kind": kind}, headers=headers)
            assert command.status_code == 201, command.text
            responses = _poll_at_once([first, second], token)
            assert all(r is not None and r.status_code == 200 for r in responses), [r and r.text for r in responses]
            answers = [r.json()["command"] for r in responses if r is not None]
            claimed = [a for a in answers if a is not None]
            assert len(claimed) == 1, answers
            assert claimed[0]["id"] == command.json()["id"]
            winners.append(claimed[0]["id"])
            finished = first.post(f"/api/v1/agent/commands/{claimed[0]['id']}/finish", json={"state": "done"},
                                  headers=_bearer(token))
            assert finished.status_code == 200, finished.text
    assert len(set(winners)) == rounds
    session.expire_all()
    rows = session.exec(select(AgentCommand)).all()
    assert {(r.state, r.attempts) for r in rows} == {("done", 1)}


def test_a_lease_that_runs_out_requeues_then_fails_and_unclaimed_commands_time_out(
    session: Session, factory: Factory, division: Division, it_admin: User
) -> None:
    device, _ = _phone(session, division)
    now = utcnow()
    poll = Poll(adb_state="device", adb_serial="SER", host="pc-a", running=[], claim=True)
    command = AgentCommand(device_id=device.id, division_id=division.id, kind="sync", requested_at=now, queued_at=now)  # type: ignore[arg-type]
    session.add(command)
    session.commit()

    for attempt in range(1, MAX_ATTEMPTS + 1):
        claimed = poll_commands(session, device=device, poll=poll, now=now, timeouts=TIMEOUTS)
        assert claimed is not None and claimed.id == command.id and claimed.attempts == attempt
        renewed = Poll(adb_state="device", adb_serial="SER", host="pc-a", running=[command.id], claim=False)  # type: ignore[list-item]
        now += timedelta(seconds=50)
        assert poll_commands(session, device=device, poll=renewed, now=now, timeouts=TIMEOUTS) is None
        now += timedelta(seconds=50)  # still within the renewed lease
        assert expire_commands(session, now=now, timeouts=TIMEOUTS) == 0
        now += timedelta(seconds=61)  # the agent went away
        assert expire_commands(session, now=now, timeouts=TIMEOUTS) == 1
        session.refresh(command)
        if attempt < MAX_ATTEMPTS:
            assert command.state == "queued" and "pc-a stopped answering; queued again" in command.message
    assert command.state == "failed" and command.finished_at == now
    assert "pc-a stopped answering while running it" in command.message

    waiting = AgentCommand(device_id=device.id, division_id=division.id, kind="provision", requested_at=now,  # type: ignore[arg-type]
                           queued_at=now)
    session.add(waiting)
    session.commit()
    assert expire_commands(session, now=now + timedelta(seconds=599), timeouts=TIMEOUTS) == 0
    assert expire_commands(session, now=now + timedelta(seconds=601), timeouts=TIMEOUTS) == 1
    session.refresh(waiting)
    assert waiting.state == "failed" and "no agent picked it up within 600 s" in waiting.message


def test_presence_is_written_when_it_changes_and_refreshed_every_few_seconds(
    session: Session, division: Division
) -> None:
    device, _ = _phone(session, division)
    now = utcnow()

    def report(state: str, at: timedelta) -> AgentPresence:
        poll = Poll(adb_state=state, adb_serial="SER", host="pc-a", running=[], claim=False)
        poll_commands(session, device=device, poll=poll, now=now + at, timeouts=TIMEOUTS)
        row = session.get(AgentPresence, device.id, populate_existing=True)
        assert row is not None
        return row

    assert report("device", timedelta(0)).reported_at == now
    assert report("device", timedelta(seconds=5)).reported_at == now  # nothing new: no write
    changed = report("unauthorized", timedelta(seconds=6))
    assert (changed.adb_state, changed.reported_at) == ("unauthorized", now + timedelta(seconds=6))
    assert report("unauthorized", timedelta(seconds=30)).reported_at == now + timedelta(seconds=30)
