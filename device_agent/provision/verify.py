"""Verification: a fix sent by the phone's tracker reached the server after provisioning began.

The agent asks the server (admin token) for the rep positions it holds and looks for one
from this device, from a tracker protocol (not the agent's own ``dumpsys`` fix), updated
after ``since``. Nothing is faked: if no fix arrives in time the step says so.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from device_agent.config import AgentSettings
from device_agent.credentials import DeviceCredential
from device_agent.errors import ServerError
from device_agent.provision.results import Status, StepResult
from device_agent.server_api import ServerApi

TRACKER_SOURCES = {"owntracks", "osmand", "traccar_json"}


def _fresh_fix(positions: list[dict[str, Any]], device_id: int, since: datetime) -> dict[str, Any] | None:
    for position in positions:
        if position.get("device_id") != device_id or position.get("source") not in TRACKER_SOURCES:
            continue
        updated = position.get("updated_at")
        if updated and datetime.fromisoformat(updated) >= since:
            return position
    return None


def wait_for_fix(
    api: ServerApi, settings: AgentSettings, credential: DeviceCredential, *, since: float, poll_s: float = 2.0
) -> StepResult:
    if not settings.admin_token:
        return StepResult("verify", Status.HUMAN, "no admin token to read positions with: check the live map")
    if credential.rep_user_id is None:
        return StepResult("verify", Status.HUMAN, "the phone has no rep, so the server keeps no position for it: "
                                                  "assign a rep and provision again")
    start = datetime.fromtimestamp(since, UTC)
    deadline = time.monotonic() + settings.verify_timeout_s
    while True:
        try:
            fix = _fresh_fix(api.positions(settings.admin_token), credential.device_id, start)
        except ServerError as exc:
            return StepResult("verify", Status.FAILED, f"cannot read positions from the server: {exc}")
        if fix is not None:
            return StepResult("verify", Status.DONE, f"{fix['source']} fix received at {fix['updated_at']}")
        if time.monotonic() >= deadline:
            return StepResult("verify", Status.FAILED, f"no fix arrived within {settings.verify_timeout_s:.0f} s: "
                                                       "open the tracker on the phone and check its connection")
        time.sleep(poll_s)
