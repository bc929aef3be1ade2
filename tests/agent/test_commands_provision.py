"""Re-provisioning from the fleet page: the watcher claims the command and runs the idempotent steps on
the phone (waiting while its own sync of the freshly plugged phone holds it); what had drifted is put
right, the rest is already done, and the checklist goes back to the server."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import Session

from crm.org import User
from device_agent.agent import Agent
from device_agent.provision.runner import provision_phone
from device_agent.provision.steps import OWNTRACKS, Target
from device_agent.simulator.phone import SimulatedPhone
from device_agent.watch import Watcher, WatchEvent
from tests.agent.test_provision import keep_time, rep, settings, tracker_apk  # noqa: F401 (fixtures)


def _finished(events: queue.Queue[WatchEvent], command_id: int) -> WatchEvent:
    while True:
        event = events.get(timeout=120)
        if event.command is not None and event.command.id == command_id and event.state in ("done", "failed"):
            return event


def test_reprovision_command_puts_right_what_drifted(
    agent: Agent, new_phone: Callable[..., SimulatedPhone], tracker_apk: Path, rep: User,  # noqa: F811
    admin: tuple[User, str], session: Session,
) -> None:
    phone = keep_time(new_phone("pixel", 2))
    agent.settings.verify_timeout_s = 20
    first = provision_phone(agent, Target(phone.address, rep.username), lambda *a: None)
    assert first.ok, first.steps
    with phone.core.lock:  # someone took the tracker off the battery exemption list
        phone.state.deviceidle_whitelist.remove(OWNTRACKS)

    agent.settings.command_poll_s = 0.3
    events: queue.Queue[WatchEvent] = queue.Queue()
    watcher = Watcher(agent, events.put)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        device_id = agent.credentials.get(phone.serial).device_id
        url = f"{agent.settings.server_url}/api/v1/devices/{device_id}/commands"
        queued = httpx.post(url, json={"kind": "provision"}, headers={"Authorization": f"Bearer {admin[1]}"})
        assert queued.status_code == 201, queued.text
        done = _finished(events, queued.json()["id"])
    finally:
        watcher.stop.set()
        thread.join(timeout=60)
    assert done.command is not None and done.state == "done", done.command
    assert OWNTRACKS in phone.state.deviceidle_whitelist

    command: dict[str, Any] = httpx.get(f"{agent.settings.server_url}/api/v1/agent-commands/{queued.json()['id']}",
                                        headers={"Authorization": f"Bearer {admin[1]}"}).json()
    steps = {s["step"]: s["status"] for s in command["result"]["steps"]}
    assert steps["battery"] == "done"
    assert {steps[s] for s in ("adb", "enrol", "install", "configure")} == {"already done"}
    assert steps["verify"] in ("done", "already done")
    assert command["state"] == "done" and command["message"] == "every step done or already done"
    assert not any(agent.credentials.get(phone.serial).token in str(v) for v in command.values())
    assert not thread.is_alive()
