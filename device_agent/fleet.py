"""What is plugged in: adb state, identity, battery, storage, enrolment and last sync per phone."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from capture import DumpsysFormatError, parse_dumpsys_battery
from device_agent.adb import Attached
from device_agent.agent import Agent
from device_agent.errors import AgentError, DeviceNotReady
from device_agent.sync import identify


@dataclass
class PhoneRow:
    adb_serial: str
    state: str
    over_tcp: bool
    device: str = ""
    brand: str = ""
    model: str = ""
    android: str = ""
    battery_pct: int | None = None
    storage_free_gb: float | None = None
    enrolled_as: int | None = None
    last_sync: str | None = None
    last_result: str | None = None
    pending: int = 0
    problem: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _battery(agent: Agent, attached: Attached) -> int | None:
    try:
        state = parse_dumpsys_battery(agent.adb.phone(attached.serial).shell("dumpsys battery"))
    except DumpsysFormatError:
        return None
    return round(state.percent)


def _free_gb(agent: Agent, attached: Attached) -> float | None:
    for line in agent.adb.phone(attached.serial).shell("df /sdcard").splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 4 and parts[3].isdigit():
            return round(int(parts[3]) / 2**20, 1)
    return None


def describe(agent: Agent, attached: Attached) -> PhoneRow:
    """One row of the fleet table; a phone that is not ready shows what the agent last knew of it."""
    row = PhoneRow(attached.serial, attached.state, attached.over_tcp)
    known = agent.store.fleet()
    if attached.state == "device":
        try:
            phone = agent.adb.phone(attached.serial)
            row.device, props = identify(agent, phone)
            row.brand, row.model = props.get("ro.product.brand", ""), props.get("ro.product.model", "")
            row.android = props.get("ro.build.version.release", "")
            row.battery_pct = _battery(agent, attached)
            row.storage_free_gb = _free_gb(agent, attached)
            known = agent.store.fleet()
        except (DeviceNotReady, AgentError) as exc:
            row.problem = str(exc)
    else:
        row.device = agent.store.device_for_adb_serial(attached.serial) or ""
        row.problem = str(DeviceNotReady(attached.serial, attached.state))
    entry = known.get(row.device)
    if entry is not None:
        info = entry["info"]
        row.brand = row.brand or info.get("brand", "")
        row.model = row.model or info.get("model", "")
        row.android = row.android or info.get("android_release", "")
        if entry["last_sync"]:
            row.last_sync = datetime.fromtimestamp(entry["last_sync"], UTC).isoformat(timespec="seconds")
        row.last_result = entry["last_result"]
    credential = agent.credentials.get(row.device) if row.device else None
    row.enrolled_as = credential.device_id if credential else None
    row.pending = sum(agent.store.pending_counts(row.device).values()) if row.device else 0
    return row


def survey(agent: Agent) -> list[PhoneRow]:
    """A row for every phone adb knows."""
    return [describe(agent, attached) for attached in agent.adb.devices()]


def resolve(agent: Agent, serial: str) -> str | None:
    """The adb serial for an adb serial or a phone's own serial (``ro.serialno``) among attached phones."""
    attached = agent.adb.devices()
    if any(a.serial == serial for a in attached):
        return serial
    for a in attached:
        if a.state == "device" and identify(agent, agent.adb.phone(a.serial))[0] == serial:
            return a.serial
    return None
