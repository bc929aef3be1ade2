"""Simulated phones behind our own adb server, an agent pointed at the live test server, an admin."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import adbutils
import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from crm.org import Role, User
from device_agent.agent import Agent
from device_agent.config import AgentSettings
from device_agent.credentials import DeviceCredential
from device_agent.simulator.generate import generate_phone
from device_agent.simulator.phone import SimulatedPhone
from tests.conftest import free_port
from tests.factories import Factory

#: Phones start at this moment (phone clock), so that runs are reproducible.
PHONE_NOW = datetime(2025, 3, 12, 18, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(scope="session")
def adb_port() -> Iterator[int]:
    """A dedicated adb server for the agent tests, killed at the end."""
    port = free_port()
    subprocess.run([adbutils.adb_path(), "-P", str(port), "start-server"], check=True, capture_output=True)
    yield port
    adbutils.AdbClient(port=port).server_kill()


@pytest.fixture(scope="session")
def phone_templates(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int, str, int], Path]:
    """Generated phone folders, made once per (seed, oem, days) and copied per test."""
    root = tmp_path_factory.mktemp("phone-templates")

    def template(seed: int, oem: str, days: int) -> Path:
        path = root / f"{oem}-{seed}-{days}"
        if not path.exists():
            generate_phone(path, seed=seed, oem=oem, days=days, now=PHONE_NOW, customers=12,
                           recording_seconds=(0.5, 1.0))
        return path

    return template


@dataclass
class Fleet:
    adb: adbutils.AdbClient
    phones: list[SimulatedPhone]

    def plug(self, phone: SimulatedPhone) -> str:
        """Connect a phone to the adb server (like plugging it in); returns its adb serial."""
        answer = self.adb.connect(phone.address, timeout=10)
        assert "connected" in answer, answer
        return phone.address

    def plug_unauthorized(self, phone: SimulatedPhone) -> str:
        """Connect a phone that has not accepted this computer's key: adb lists it as unauthorized."""
        self.adb.connect(phone.address, timeout=10)
        for _ in range(100):
            if any(d.serial == phone.address and d.state == "unauthorized" for d in self.adb.list()):
                return phone.address
            time.sleep(0.05)
        raise AssertionError(f"{phone.address} never showed as unauthorized: {self.adb.list()}")

    def unplug(self, phone: SimulatedPhone) -> None:
        self.adb.disconnect(phone.address)


@pytest.fixture
def fleet(adb_port: int, phone_templates: Callable[[int, str, int], Path], tmp_path: Path) -> Iterator[Fleet]:
    made = Fleet(adbutils.AdbClient(port=adb_port), [])
    yield made
    for phone in made.phones:
        made.adb.disconnect(phone.address)
        phone.stop(save=False)


@pytest.fixture
def new_phone(fleet: Fleet, phone_templates: Callable[[int, str, int], Path], tmp_path: Path
              ) -> Callable[..., SimulatedPhone]:
    """Start a simulated phone (copied from a template) and plug it in."""

    def start(oem: str = "xiaomi", seed: int = 1, days: int = 1, plug: bool = True) -> SimulatedPhone:
        target = tmp_path / "phones" / f"{oem}-{seed}-{len(fleet.phones)}"
        shutil.copytree(phone_templates(seed, oem, days), target)
        phone = SimulatedPhone(target).start()
        fleet.phones.append(phone)
        if plug:
            fleet.plug(phone)
        return phone

    return start


@pytest.fixture
def admin(factory: Factory) -> tuple[User, str]:
    user = factory.user(Role.division_admin)
    return user, factory.token(user)


@pytest.fixture
def agent_settings(live_server: str, adb_port: int, tmp_path: Path, admin: tuple[User, str]) -> AgentSettings:
    for key in [k for k in os.environ if k.startswith("FIELDCRM_AGENT_")]:
        os.environ.pop(key)
    return AgentSettings(
        server_url=live_server,
        state_dir=tmp_path / "agent",
        adb_port=adb_port,
        admin_token=admin[1],
        backoff_s=0.05,
        backoff_max_s=0.2,
        max_attempts=3,
        min_free_bytes=0,
        verify_timeout_s=0,
        auth_timeout_s=5,
    )


@pytest.fixture
def agent(agent_settings: AgentSettings) -> Iterator[Agent]:
    made = Agent.open(agent_settings)
    yield made
    made.store.close()


def server_counts(session: Session) -> dict[str, int]:
    """How many SMS, calls and recordings the server holds."""
    from sqlalchemy import func, select

    from crm.communications import CapturedCall, CapturedSms, Recording

    session.expire_all()
    return {
        "sms": session.exec(select(func.count()).select_from(CapturedSms)).one()[0],
        "calls": session.exec(select(func.count()).select_from(CapturedCall)).one()[0],
        "recordings": session.exec(select(func.count()).select_from(Recording)).one()[0],
    }


@pytest.fixture
def enrol(agent: Agent, admin: tuple[User, str]) -> Callable[[SimulatedPhone], DeviceCredential]:
    """Enrol a phone through the API (without the rest of provisioning) and keep its token."""

    def enrol_phone(phone: SimulatedPhone) -> DeviceCredential:
        with agent.api() as api:
            body = api.enrol({"serial": phone.serial}, admin_token=admin[1], code=None)
        credential = DeviceCredential(phone.serial, body["device"]["id"], body["token"])
        agent.credentials.put(credential)
        return credential

    return enrol_phone


@pytest.fixture
def cli_env(agent_settings: AgentSettings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("FIELDCRM_AGENT_SERVER_URL", agent_settings.server_url)
    monkeypatch.setenv("FIELDCRM_AGENT_STATE_DIR", str(agent_settings.state_dir))
    monkeypatch.setenv("FIELDCRM_AGENT_ADB_PORT", str(agent_settings.adb_port))
    monkeypatch.setenv("FIELDCRM_AGENT_MIN_FREE_BYTES", "0")
    monkeypatch.setenv("FIELDCRM_AGENT_VERIFY_TIMEOUT_S", "0")
    monkeypatch.setenv("FIELDCRM_AGENT_ADMIN_TOKEN", agent_settings.admin_token or "")
    return CliRunner()
