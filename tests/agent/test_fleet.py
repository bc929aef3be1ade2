"""Following phones as they come and go (``watch``), the fleet table and the CLI."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable

from sqlmodel import Session
from typer.testing import CliRunner

from crm.devices import Device
from device_agent.agent import Agent
from device_agent.cli import app
from device_agent.simulator.phone import SimulatedPhone
from device_agent.watch import Watcher, WatchEvent
from tests.agent.conftest import Fleet, server_counts
from tests.agent.test_sync import phone_counts


def adb_state_on_server(session: Session, device_id: int) -> str | None:
    session.expire_all()
    return (session.get(Device, device_id).status.get("properties") or {}).get("agent.adb_state")


def _next(events: queue.Queue[WatchEvent], kind: str, serial: str, state: str | None = None) -> WatchEvent:
    """The next event of that kind for that phone (adb may list a phone as offline on its way)."""
    while True:
        event = events.get(timeout=30)
        if event.kind == kind and event.adb_serial == serial and state in (None, event.state):
            return event


def test_watch_syncs_a_phone_when_it_is_plugged_in_and_reports_states(
    agent: Agent, new_phone: Callable[..., SimulatedPhone], enrol: Callable, fleet: Fleet, session: Session
) -> None:
    phone = new_phone("samsung", 2, plug=False)
    credential = enrol(phone)
    stranger = new_phone("pixel", 2, plug=False)
    stranger.require_auth()
    events: queue.Queue[WatchEvent] = queue.Queue()
    watcher = Watcher(agent, events.put)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        fleet.plug(phone)
        ready = _next(events, "state", phone.address, "device")
        assert ready.row is not None
        assert ready.row.device == phone.serial and ready.row.enrolled_as is not None
        assert ready.row.battery_pct == phone.state.battery.level
        synced = _next(events, "sync", phone.address)
        assert synced.sync is not None and synced.sync.result == "ok"
        assert server_counts(session) == phone_counts(phone)
        assert adb_state_on_server(session, credential.device_id) == "device"

        fleet.plug_unauthorized(stranger)
        locked = _next(events, "state", stranger.address, "unauthorized")
        assert locked.row is not None and "tap Allow" in locked.row.problem

        fleet.unplug(phone)
        assert _next(events, "state", phone.address, "gone").row is None
        for _ in range(100):  # the report goes out from the watcher's worker thread
            if adb_state_on_server(session, credential.device_id) == "gone":
                break
            time.sleep(0.1)
        assert adb_state_on_server(session, credential.device_id) == "gone"
    finally:
        watcher.stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()


def test_cli_devices_and_sync_as_json(
    cli_env: CliRunner, agent: Agent, new_phone: Callable[..., SimulatedPhone], enrol: Callable
) -> None:
    enrolled, unknown = new_phone("xiaomi", 1), new_phone("huawei", 1)
    enrol(enrolled)

    listed = cli_env.invoke(app, ["devices", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = {row["device"]: row for row in json.loads(listed.stdout)}
    assert rows[enrolled.serial]["enrolled_as"] is not None and rows[unknown.serial]["enrolled_as"] is None
    assert rows[enrolled.serial]["brand"] == enrolled.state.identity.brand
    assert rows[unknown.serial]["state"] == "device"

    synced = cli_env.invoke(app, ["sync", enrolled.serial, "--json"])  # the phone's own serial works too
    assert synced.exit_code == 0, synced.output
    [report] = json.loads(synced.stdout)
    assert report["result"] == "ok" and report["uploaded"]["sms"] == len(enrolled.state.sms)

    refused = cli_env.invoke(app, ["sync", unknown.address, "--json"])
    assert refused.exit_code == 1
    assert json.loads(refused.stdout)[0]["result"] == "not_enrolled"

    missing = cli_env.invoke(app, ["sync", "NOSUCHPHONE"])
    assert missing.exit_code == 1 and "not connected" in missing.output
