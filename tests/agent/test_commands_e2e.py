"""The command channel end to end: ``fieldcrm serve`` and ``fieldcrm agent watch`` as real processes,
a simulated phone behind the real adb server. IT asks for a sync through the API; the agent
claims it, syncs the phone and reports back; the phone's new records arrive on the server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from crm.org import Role, User
from device_agent.agent import Agent
from device_agent.config import AgentSettings
from device_agent.credentials import DeviceCredential
from device_agent.simulator.phone import SimulatedPhone
from server.agent_commands.models import AgentPresence
from tests.agent.conftest import Fleet, server_counts
from tests.agent.test_sync import phone_counts
from tests.conftest import TEST_SECRET, free_port
from tests.factories import Factory
from tests.platform.test_cli import FIELDCRM


def _wait(check: Callable[[], Any], what: str, *, timeout: float = 180.0, log: Path | None = None) -> Any:
    """Poll ``check`` until it is truthy (a generous bound: the machine may be busy); returns its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            tail = log.read_text()[-3000:] if log and log.exists() else ""
            raise AssertionError(f"{what} did not happen within {timeout:.0f} s\n{tail}")
        time.sleep(0.2)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM if process.args[1:3] == ["-m", "device_agent"] else signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def server_process(db: Engine, database_url: str, tmp_path: Path) -> Iterator[str]:
    """``fieldcrm serve`` on the test database (emptied for this test), on a free port."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDCRM_")}
    env.update({"FIELDCRM_DATABASE_URL": database_url, "FIELDCRM_SECRET_KEY": TEST_SECRET,
                "FIELDCRM_DATA_DIR": str(tmp_path / "server")})
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen([FIELDCRM, "serve", "--port", str(port)], env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        _wait(up, "the server coming up", log=log)
        yield base
    finally:
        _stop(process)


@pytest.fixture
def remote_agent(server_process: str, adb_port: int, tmp_path: Path, admin: tuple[User, str]) -> Iterator[Agent]:
    """The agent's state folder (credentials, outbox) as ``watch`` will use it."""
    settings = AgentSettings(server_url=server_process, state_dir=tmp_path / "agent", adb_port=adb_port,
                             admin_token=admin[1], min_free_bytes=0)
    agent = Agent.open(settings)
    yield agent
    agent.store.close()


@pytest.fixture
def watch_process(remote_agent: Agent, tmp_path: Path) -> Iterator[Path]:
    """``fieldcrm agent watch --json`` polling for commands every half second; yields its output file."""
    settings = remote_agent.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDCRM_")}
    env.update({
        "FIELDCRM_AGENT_SERVER_URL": settings.server_url,
        "FIELDCRM_AGENT_STATE_DIR": str(settings.state_dir),
        "FIELDCRM_AGENT_ADB_PORT": str(settings.adb_port),
        "FIELDCRM_AGENT_MIN_FREE_BYTES": "0",
        "FIELDCRM_AGENT_BACKOFF_S": "0.05",
    })
    output = tmp_path / "watch.jsonl"
    with output.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "device_agent", "--log-level", "INFO", "watch", "--json", "--command-poll-s", "0.5"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        yield output
    finally:
        _stop(process)


def _enrol(agent: Agent, phone: SimulatedPhone, admin_token: str) -> DeviceCredential:
    with agent.api() as api:
        body = api.enrol({"serial": phone.serial, "brand": phone.state.identity.brand}, admin_token=admin_token,
                         code=None)
    credential = DeviceCredential(phone.serial, body["device"]["id"], body["token"])
    agent.credentials.put(credential)
    return credential


def test_a_sync_command_from_the_api_is_run_by_the_watching_agent(
    remote_agent: Agent, watch_process: Path, new_phone: Callable[..., SimulatedPhone], admin: tuple[User, str],
    factory: Factory, session: Session, fleet: Fleet,
) -> None:
    phone = new_phone("xiaomi", 1, plug=False)
    absent = new_phone("samsung", 2, plug=False)
    credential = _enrol(remote_agent, phone, admin[1])
    absent_credential = _enrol(remote_agent, absent, admin[1])
    it = factory.user(Role.sysadmin)
    headers = factory.headers(it)
    base = remote_agent.settings.server_url

    fleet.plug(phone)
    # Plugged in: the watcher syncs it by itself. Then the phone lives on, and only a command can
    # bring the new records before the periodic sync (15 minutes away).
    _wait(lambda: server_counts(session) == phone_counts(phone), "the sync on plugging in", log=watch_process)
    before = phone_counts(phone)
    while phone_counts(phone) == before:  # into the next working day
        phone.advance(6 * 3600)
    assert server_counts(session) == before

    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        queued = client.post(f"/api/v1/devices/{credential.device_id}/commands", json={"kind": "sync"})
        assert queued.status_code == 201, queued.text

        def finished(command_id: int) -> dict[str, Any] | None:
            command = client.get(f"/api/v1/agent-commands/{command_id}").json()
            return command if command["state"] in ("done", "failed") else None

        command = _wait(lambda: finished(queued.json()["id"]), "the sync command finishing", log=watch_process)
        assert command["state"] == "done", command
        assert command["message"].startswith("ok: uploaded") and command["result"]["result"] == "ok"
        assert command["claimed_by"] and command["attempts"] == 1
        assert server_counts(session) == phone_counts(phone)

        elsewhere = client.post(f"/api/v1/devices/{absent_credential.device_id}/commands", json={"kind": "sync"})
        assert elsewhere.status_code == 201
        refused = _wait(lambda: finished(elsewhere.json()["id"]), "the command for the unplugged phone finishing", log=watch_process)
        assert refused["state"] == "failed" and "not connected to the agent on" in refused["message"]

    session.expire_all()
    seen = session.get(AgentPresence, credential.device_id)
    assert seen is not None and seen.adb_state == "device" and seen.adb_serial == phone.address
    unseen = session.get(AgentPresence, absent_credential.device_id)
    assert unseen is not None and unseen.adb_state == "gone"
    events = [line for line in watch_process.read_text().splitlines() if '"event": "command"' in line]
    assert len(events) == 4, events  # claimed and done, claimed and failed
