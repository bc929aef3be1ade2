"""Verification: a fix sent by the phone's own tracker app reached the server.

The agent reads the live map (admin token) and looks at the position the server holds for
the phone's rep. When the tracker was configured in this run, the position seen just before
the configuration was saved is the baseline (the app publishes as soon as it is configured,
so reading it afterwards could be too late) and any newer tracker position from this device
means it works. Otherwise a fresh position from this device that came from a tracker
protocol (not the agent's own ``dumpsys`` reading) means it already works, and a stale one
makes the step wait for a new fix. Nothing is faked: if none arrives in time the step says so.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from device_agent.config import AgentSettings
from device_agent.credentials import DeviceCredential
from device_agent.errors import ServerError
from device_agent.provision.results import Status, StepResult
from device_agent.server_api import ServerApi

TRACKER_SOURCES = {"owntracks", "osmand", "traccar_json"}


@dataclass(frozen=True)
class Baseline:
    """This device's tracker position on the live map (None: none) before its tracker was configured."""

    position: dict[str, Any] | None


def _tracker_position(api: ServerApi, settings: AgentSettings, credential: DeviceCredential
                      ) -> dict[str, Any] | None:
    assert settings.admin_token is not None
    return next((p for p in api.positions(settings.admin_token)
                 if p.get("device_id") == credential.device_id and p.get("source") in TRACKER_SOURCES), None)


def take_baseline(api: ServerApi, settings: AgentSettings, credential: DeviceCredential) -> Baseline | None:
    """The position to compare with later; None when it cannot be read (verify then says why)."""
    if not settings.admin_token or credential.rep_user_id is None:
        return None
    try:
        return Baseline(_tracker_position(api, settings, credential))
    except ServerError:
        return None


def wait_for_fix(api: ServerApi, settings: AgentSettings, credential: DeviceCredential, *,
                 baseline: Baseline | None = None, poll_s: float = 1.0) -> StepResult:
    if not settings.admin_token:
        return StepResult("verify", Status.HUMAN, "no admin token to read the live map with: check it by hand")
    if credential.rep_user_id is None:
        return StepResult("verify", Status.HUMAN, "the phone has no rep, so the server keeps no position for it: "
                                                  "assign a rep (--rep) and provision again")
    deadline = time.monotonic() + settings.verify_timeout_s
    try:
        if baseline is None:
            before = _tracker_position(api, settings, credential)
            if before is not None and before.get("freshness") == "fresh":
                return StepResult("verify", Status.ALREADY, f"{before['source']} fix from this phone on the live "
                                                            f"map, {before.get('age_s')} s old")
        else:
            before = baseline.position
        while True:
            now = _tracker_position(api, settings, credential)
            if now is not None and (before is None or now.get("time") != before.get("time")):
                return StepResult("verify", Status.DONE, f"{now['source']} fix received (taken at {now['time']})")
            if time.monotonic() >= deadline:
                break
            time.sleep(poll_s)
    except ServerError as exc:
        return StepResult("verify", Status.FAILED, f"cannot read the live map: {exc}")
    return StepResult("verify", Status.FAILED, f"no fix arrived within {settings.verify_timeout_s:.0f} s: open the "
                                               "tracker on the phone and check its connection and clock (fixes "
                                               "outside tracking hours, or older than the server keeps, are not "
                                               "put on the map)")
