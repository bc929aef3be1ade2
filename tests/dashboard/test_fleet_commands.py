"""Fleet page and the agent commands: "Sync now" / "Re-provision" queue a command whose state the
page follows without reloading while the agent (here speaking the agent's API over HTTP with the
phone's token) claims and finishes it; adb state with its age; the last provisioning's checklist."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlmodel import Session, select

from crm.devices import Device
from crm.org import Role
from crm.types import utcnow
from server.agent_commands.models import AgentCommand, AgentPresence
from tests.dashboard.conftest import wait_until
from tests.factories import Factory

STEPS = [
    {"step": "adb", "status": "already done", "detail": "authorised; Xiaomi Redmi Note 12, Android 13"},
    {"step": "enrol", "status": "already done", "detail": "enrolled as device 1"},
    {"step": "install", "status": "already done", "detail": "org.owntracks.android is installed"},
    {"step": "consents", "status": "needs a human", "detail": "still missing ACCESS_BACKGROUND_LOCATION"},
    {"step": "verify", "status": "not attempted", "detail": ""},
]


class AgentSide:
    """The agent's half of the channel for one phone: polls and reports with the phone's token."""

    def __init__(self, base_url: str, token: str) -> None:
        self.http = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def poll(self, adb_state: str = "device") -> dict[str, Any] | None:
        response = self.http.post("/api/v1/agent/commands/poll",
                                  json={"adb_state": adb_state, "adb_serial": "R58M123ABC", "host": "office-pc"})
        assert response.status_code == 200, response.text
        return response.json()["command"]

    def finish(self, command_id: int, state: str, message: str, result: dict[str, Any] | None = None) -> None:
        response = self.http.post(f"/api/v1/agent/commands/{command_id}/finish",
                                  json={"state": state, "message": message, "result": result or {}})
        assert response.status_code == 200, response.text


def _state(page, device_id: int) -> str:  # type: ignore[no-untyped-def]
    return page.evaluate(f"document.querySelector(\"tr[data-device='{device_id}'] [data-last-command]\").dataset.state || ''")


def test_sync_now_and_reprovision_follow_the_agent_without_reloading(browse, factory: Factory, phones, shot,  # type: ignore[no-untyped-def]
                                                                      session: Session, live_server: str) -> None:
    division = factory.division()
    admin = factory.user(Role.division_admin, division)
    rep = factory.user(Role.rep, division)
    token = phones.phone(rep, serial="R58M123ABC")
    device = session.exec(select(Device).where(Device.serial == "R58M123ABC")).one()
    agent = AgentSide(live_server, token)
    assert agent.poll() is None  # the agent is there and sees the phone

    page = browse.login(admin)
    page.goto("/fleet")
    row = page.locator(f"tr[data-device='{device.id}']")
    assert row.locator("[data-adb-state=device][data-fresh=true]").count() == 1
    assert "office-pc" in row.locator("[data-adb]").inner_text()

    row.locator("[data-command=sync]").click()
    wait_until(page, f"document.querySelector(\"tr[data-device='{device.id}'] [data-last-command]\").dataset.state === 'queued'")
    assert row.locator("[data-state-label]").inner_text() in ("等待代理", "waiting for the agent")
    claimed = agent.poll()
    assert claimed is not None and claimed["kind"] == "sync"
    wait_until(page, f"document.querySelector(\"tr[data-device='{device.id}'] [data-last-command]\").dataset.state === 'claimed'")
    agent.finish(claimed["id"], "done", "ok: uploaded sms 12, calls 3")
    wait_until(page, f"document.querySelector(\"tr[data-device='{device.id}'] [data-last-command]\").dataset.state === 'done'")
    assert "ok: uploaded sms 12, calls 3" in row.locator("[data-message]").inner_text()
    shot(page, "fleet-sync-done")

    row.locator("[data-command=provision]").click()
    wait_until(page, f"document.querySelector(\"tr[data-device='{device.id}'] [data-last-command]\").dataset.state === 'queued'")
    claimed = agent.poll()
    assert claimed is not None and claimed["kind"] == "provision"
    agent.finish(claimed["id"], "failed", "consents: needs a human", {"ok": False, "steps": STEPS})
    wait_until(page, f"document.querySelector(\"tr[data-device='{device.id}'] [data-last-command]\").dataset.state === 'failed'")
    wait_until(page, f"document.querySelectorAll(\"tr[data-device='{device.id}'] [data-step]\").length === {len(STEPS)}")
    assert row.locator("li.todo[data-step=consents]").count() == 1
    assert "ACCESS_BACKGROUND_LOCATION" in row.locator("li[data-step=consents]").inner_text()
    assert row.locator("li.ok[data-step=install]").count() == 1
    assert row.locator("li.unknown[data-step=verify]").count() == 1
    shot(page, "fleet-reprovision")

    page.reload()  # the same after a reload, from the server's side
    assert row.locator("li.todo[data-step=consents]").count() == 1
    assert _state(page, device.id) == "failed"
    assert row.locator("[data-kind]").inner_text() in ("配置", "Provisioning")


def test_who_sees_the_command_buttons_and_how_adb_state_ages(client, factory: Factory, phones,  # type: ignore[no-untyped-def]
                                                              session: Session) -> None:
    division = factory.division()
    rep = factory.user(Role.rep, division)
    phones.phone(rep, serial="POLLED-PHONE")
    phones.phone(rep, serial="REPORTED-PHONE")
    phones.phone(rep, serial="SILENT-PHONE")
    devices = {d.serial: d for d in session.exec(select(Device))}
    now = utcnow()
    session.add(AgentPresence(device_id=devices["POLLED-PHONE"].id, division_id=division.id, adb_state="unauthorized",  # type: ignore[arg-type]
                              adb_serial="127.0.0.1:5555", agent_host="pc-7", reported_at=now - timedelta(minutes=10)))
    reported = session.get(Device, devices["REPORTED-PHONE"].id)
    reported.status = {"occurred_at": now.isoformat(), "properties": {"agent.adb_state": "offline"}}
    session.add(reported)
    session.add(AgentCommand(device_id=devices["SILENT-PHONE"].id, division_id=division.id, kind="sync", state="queued",  # type: ignore[arg-type]
                             requested_at=now, queued_at=now))
    session.commit()

    def page(role: Role, same_division: bool = True) -> str:
        user = factory.user(role, division if same_division else None)
        response = client.get("/fleet", headers=factory.headers(user))
        assert response.status_code == 200
        return response.text

    admin = page(Role.division_admin)
    assert admin.count('data-command="sync"') == 3 and admin.count('data-command="provision"') == 3
    assert 'data-adb-state="unauthorized" data-fresh="false"' in admin  # ten minutes without a poll: stale
    assert 'data-adb-state="offline" data-fresh="true"' in admin  # from the agent's device-status report
    assert "pc-7" in admin and "代理尚未上报" in admin  # the silent phone: no report at all
    assert 'data-state="queued"' in admin and "等待代理" in admin
    assert page(Role.sysadmin, same_division=False).count('data-command="sync"') == 3
    head = page(Role.division_head)
    assert 'data-command="sync"' not in head and 'data-state="queued"' in head  # sees the state, sends nothing
