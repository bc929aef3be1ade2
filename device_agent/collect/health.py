"""Clocks, last-known location (``dumpsys location``), battery, storage and properties.

The fix time from ``dumpsys location`` is its ``et`` (time since boot) placed on the phone's
clock (phone now − (uptime − et)), like every other time the phone records (SMS, calls,
tracker fixes); the same instant on the host's clock is logged next to it, and the skew goes
into the device-status report. The last fix sent is a watermark: an unchanged fix is not
sent again.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from capture import (
    DumpsysFormatError,
    PayloadError,
    latest,
    parse_dumpsys_battery,
    parse_dumpsys_location,
    parse_uptime,
)
from device_agent.collect.context import Clocks, Collected, Outcome, SyncContext, now_utc
from device_agent.logs import log_event
from device_agent.phone import Phone
from device_agent.store import AgentStore, NewItem

#: Properties reported to the server (identity, build, OEM skin, SIM).
REPORTED_PROPS = (
    "ro.serialno", "ro.product.brand", "ro.product.manufacturer", "ro.product.model", "ro.product.device",
    "ro.build.version.release", "ro.build.version.sdk", "ro.build.fingerprint", "ro.build.version.security_patch",
    "persist.sys.timezone", "gsm.operator.alpha", "gsm.sim.state", "ro.miui.ui.version.name",
    "ro.build.version.emui", "ro.build.version.opporom", "ro.vivo.os.version", "ro.oxygen.version",
    "ro.build.version.oneui",
)
AGENT_VERSION = "fieldcrm-agent/0.1"
_DF_LINE = re.compile(r"^\S+\s+(\d+)\s+(\d+)\s+(\d+)\s+\d+%\s+\S+")


def read_clocks(phone: Phone) -> Clocks:
    """Phone time (``date +%s``), uptime (``/proc/uptime``) and host time, read in one shell call."""
    before = now_utc()
    out = phone.shell("date +%s; cat /proc/uptime")
    after = now_utc()
    host = before + (after - before) / 2
    lines = [line for line in out.splitlines() if line.strip()]
    phone_time: datetime | None = None
    uptime: timedelta | None = None
    if lines and lines[0].strip().isdigit():
        phone_time = datetime.fromtimestamp(int(lines[0].strip()), UTC)
    if len(lines) > 1:
        try:
            uptime = parse_uptime(lines[1])
        except DumpsysFormatError:
            uptime = None
    return Clocks(phone=phone_time, host=host, uptime=uptime)


def collect_location(ctx: SyncContext) -> Collected:
    try:
        fixes = parse_dumpsys_location(ctx.phone.shell("dumpsys location"))
    except DumpsysFormatError as exc:
        return Collected("location", Outcome.REFUSED, detail=str(exc))
    newest = latest(fixes)
    if newest is None:
        return Collected("location", Outcome.OK, detail="the phone has no last-known location")
    if ctx.clocks.uptime is None:
        return Collected("location", Outcome.FAILED, detail="phone uptime unknown: cannot date the fix")
    try:
        fix = newest.to_fix(ctx.device, now=ctx.clocks.phone or ctx.clocks.host, uptime=ctx.clocks.uptime)
    except PayloadError as exc:
        return Collected("location", Outcome.FAILED, detail=f"unusable fix: {exc}")
    by_host = newest.wall_time(now=ctx.clocks.host, uptime=ctx.clocks.uptime)
    key = f"{round(fix.time.timestamp())}:{fix.lat:.6f},{fix.lon:.6f}"
    if ctx.store.watermark(ctx.device, "location") == key:
        return Collected("location", Outcome.OK, detail="no newer fix")
    payload = {
        "time": fix.time.isoformat(),
        "lat": fix.lat,
        "lon": fix.lon,
        "source": fix.source.value,
        "accuracy_m": fix.accuracy_m,
        "speed_mps": fix.speed_mps,
        "bearing_deg": fix.bearing_deg,
        "altitude_m": fix.altitude_m,
        "mock": fix.mock,
        "provider": fix.provider,
    }
    added = ctx.store.enqueue(ctx.device, [NewItem("location", key, payload)], watermarks={"location": key})
    log_event("agent.sync.location", device=ctx.device, time_phone=fix.time, time_host=by_host, new=added)
    return Collected("location", Outcome.OK, added)


def _storage(ctx: SyncContext) -> dict[str, int] | None:
    for line in ctx.phone.shell("df /sdcard").splitlines():
        m = _DF_LINE.match(line.strip())
        if m:
            total, _used, free = (int(v) * 1024 for v in m.groups())
            return {"total_bytes": total, "free_bytes": min(free, total)}
    return None


def _battery(ctx: SyncContext) -> dict[str, Any] | None:
    try:
        state = parse_dumpsys_battery(ctx.phone.shell("dumpsys battery"))
    except DumpsysFormatError:
        return None
    return {
        "level": state.level,
        "scale": state.scale,
        "status": state.status.value,
        "health": state.health.value,
        "plugged": sorted(state.plugged),
        "present": state.present,
        "temperature_c": state.temperature_c,
        "voltage_mv": state.voltage_mv,
        "technology": state.technology,
        "updates_stopped": state.updates_stopped,
    }


def device_report(
    at: datetime, properties: dict[str, str], last_sync: dict[str, str], *, adb_state: str,
    battery: dict[str, Any] | None = None, storage: dict[str, int] | None = None,
) -> dict[str, Any]:
    """A device-status report (the server's ``DeviceStatusIn``); ``agent.adb_state`` says how adb sees the phone."""
    return {
        "occurred_at": at.isoformat(),
        "battery": battery,
        "storage": storage,
        "properties": {**properties, "agent.adb_state": adb_state},
        "last_sync": last_sync or None,
        "agent_version": AGENT_VERSION,
    }


def status_report(ctx: SyncContext, props: dict[str, str], last_sync: dict[str, str]) -> dict[str, Any]:
    """The report of a sync: battery, storage, properties, both clocks and their skew, last sync per source."""
    reported = {k: props[k][:200] for k in REPORTED_PROPS if props.get(k)}
    reported["agent.host_time"] = ctx.clocks.host.isoformat()
    if ctx.clocks.phone is not None:
        reported["agent.phone_time"] = ctx.clocks.phone.isoformat()
        reported["agent.clock_skew_s"] = str(round(ctx.clocks.skew.total_seconds()))  # type: ignore[union-attr]
    return device_report(ctx.clocks.host, reported, last_sync, adb_state="device", battery=_battery(ctx),
                         storage=_storage(ctx))


def enqueue_status(store: AgentStore, device: str, report: dict[str, Any]) -> None:
    store.enqueue(device, [NewItem("device_status", report["occurred_at"], report)])
