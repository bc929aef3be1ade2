"""Fixtures: generated phones copied per test, and a dedicated adb server per binary and session."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import adbutils
import pytest

from device_agent.simulator import SimulatedPhone, generate_phone
from device_agent.simulator.adbserver import AdbServer, adb_binaries

NOW = datetime(2024, 5, 15, 17, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(scope="session")
def phone_templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One generated phone per Android generation we model differently, made once per session."""
    root = tmp_path_factory.mktemp("sim-templates")
    made = {}
    for name, seed, oem in (("xiaomi", 11, "xiaomi"), ("samsung", 12, "samsung")):
        made[name] = root / name
        generate_phone(made[name], seed=seed, oem=oem, days=2, now=NOW)
    return made


@pytest.fixture(scope="session", params=sorted(adb_binaries()))
def adb_server(request: pytest.FixtureRequest) -> Iterator[AdbServer]:
    """A dedicated adb server per adb binary (the adbutils wheel's, and Debian's when installed)."""
    server = AdbServer(adb_binaries()[request.param]).start()
    yield server
    server.stop()


@pytest.fixture
def phone(phone_templates: dict[str, Path], tmp_path: Path) -> Iterator[SimulatedPhone]:
    """A running Xiaomi phone (a fresh copy for each test)."""
    target = tmp_path / "phone"
    shutil.copytree(phone_templates["xiaomi"], target)
    with SimulatedPhone(target) as running:
        yield running


@pytest.fixture
def device(adb_server: AdbServer, phone: SimulatedPhone) -> Iterator[adbutils.AdbDevice]:
    """The phone, connected through the real adb server."""
    yield adb_server.connect(phone)
    adb_server.disconnect(phone)
