"""Verification: a fix sent by the phone's own tracker app reached the server.

The agent reads the live map (admin token) and looks at the position the server holds for
the phone's rep. A fresh position from this device that came from a tracker protocol (not
the agent's own ``dumpsys`` reading) means it already works; otherwise the step waits for a
new tracker fix from this device. Nothing is faked: if none arrives in time the step says so.
"""

from __future__ import annotations

import time
from typing import Any

from device_agent.config import AgentSettings
from device_agent.credentials import DeviceCredential
from device_agent.errors import ServerError
from device_agent.provision.results import Status, StepResult
from device_agent.server_api import ServerApi

TRACKER_SOURCES = {"owntracks", "osmand", "traccar_json"}


def _tracker_position(positions: list[dict[str, Any]], device_id: int) -> dict[str, Any] | None:
    return next(
        (p for p in positions if p.get("device_id") == device_id and p.get("source") in TRACKER_SOURCES), None
    )


def wait_for_fix(api: ServerApi, settings: AgentSettings, credential: DeviceCredential, *, poll_s: float = 1.0
                 ) -> StepResult:
    if not settings.admin_token:
        return StepResult("verify", Status.HUMAN, "no admin token to read the live map with: check it by hand")
    if credential.rep_user_id is None:
        return StepResult("verify", Status.HUMAN, "the phone has no rep, so the server keeps no position for it: "
                                                  "assign a rep (--rep) and provision again")
    deadline = time.monotonic() + settings.verify_timeout_s
    try:
        before = _tracker_position(api.positions(settings.admin_token), credential.device_id)
        if before is not None and before.get("freshness") == "fresh":
            return StepResult("verify", Status.ALREADY, f"{before['source']} fix from this phone on the live map, "
                                                        f"{before.get('age_s')} s old")
        while time.monotonic() < deadline:
            time.sleep(poll_s)
            now = _tracker_position(api.positions(settings.admin_token), credential.device_id)
            if now is not None and (before is None or now.get("time") != before.get("time")):
                return StepResult("verify", Status.DONE, f"{now['source']} fix received (taken at {now['time']})")
    except ServerError as exc:
        return StepResult("verify", Status.FAILED, f"cannot read the live map: {exc}")
    return StepResult("verify", Status.FAILED, f"no fix arrived within {settings.verify_timeout_s:.0f} s: open the "
                                               "tracker on the phone and check its connection (fixes outside "
                                               "tracking hours are not stored)")
