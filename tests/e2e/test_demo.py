"""The README's first command, `fieldcrm demo`, as a newcomer runs it: a real process on the
embedded database, simulated phones behind the real adb server, the agent provisioning and
syncing them, their trackers posting fixes. Within a bounded wait the live map shows reps whose
positions update, customer timelines hold calls with playable recordings, and a customer deleted
from a phone raises an alert."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.demo import DEMO_PASSWORD, demo_morning
from tests.conftest import free_port
from tests.platform.test_cli import FIELDCRM

pytestmark = pytest.mark.e2e


def _poll(check: Callable[[], Any], *, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"demo: {what} did not happen within {timeout:.0f} s")
        time.sleep(2)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, Path]]:
    tmp = tmp_path_factory.mktemp("demo")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDCRM_")}
    log = (tmp / "demo.log").open("w")
    process = subprocess.Popen(
        [FIELDCRM, "demo", "--data-dir", str(tmp / "data"), "--port", str(port), "--phones", "3"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert process.poll() is None, (tmp / "demo.log").read_text()[-3000:]
        try:
            return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        _poll(up, timeout=180, what="the server coming up")
        login = httpx.post(
            f"{base}/api/v1/auth/login", json={"username": "east.head", "password": DEMO_PASSWORD}
        )
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            yield client, tmp
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _positions(client: httpx.Client) -> dict[int, tuple[str, list[float]]]:
    live = client.get("/api/v1/locations/live")
    assert live.status_code == 200, live.text
    return {f["id"]: (f["properties"]["time"], f["geometry"]["coordinates"]) for f in live.json()["features"]}


def test_live_map_shows_reps_whose_positions_update(demo):
    client, _ = demo
    first = _poll(lambda: _positions(client), timeout=300, what="a rep on the live map")

    def updated() -> bool:
        now = _positions(client)
        return any(rep in first and now[rep] != first[rep] for rep in now)

    _poll(updated, timeout=240, what="a rep's position updating")


def test_timelines_hold_calls_with_playable_recordings(demo):
    client, _ = demo

    def recorded_call() -> dict | None:
        for recording in client.get("/api/v1/recordings").json():
            if recording.get("customer_id") and recording.get("call_id"):
                return recording
        return None

    recording = _poll(recorded_call, timeout=300, what="a recording matched to a customer's call")
    timeline = client.get(f"/api/v1/customers/{recording['customer_id']}/timeline", params={"types": "call"})
    assert timeline.status_code == 200
    calls = [e for e in timeline.json()["events"] if e.get("recording")]
    assert calls, timeline.json()
    audio = client.get(f"/api/v1/recordings/{recording['id']}/audio")
    assert audio.status_code == 200 and len(audio.content) > 1000


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ("2026-11-23T11:00:00+08:00", "2026-11-23T10:50:00+08:00"),  # working day: ten minutes back
        ("2026-11-23T21:00:00+08:00", "2026-11-23T09:00:00+08:00"),  # evening: replay from 09:00
        ("2026-11-23T07:30:00+08:00", "2026-11-22T09:00:00+08:00"),  # early morning: yesterday's day
    ],
)
def test_demo_replay_start(local: str, expected: str):
    start = demo_morning(datetime.fromisoformat(local).astimezone(UTC), "Asia/Shanghai")
    assert start == datetime.fromisoformat(expected)


def test_a_customer_deleted_from_a_phone_raises_an_alert(demo):
    client, _ = demo

    def deletion_alert() -> dict | None:
        alerts = client.get("/api/v1/alerts").json()
        return next((a for a in alerts if a["kind"] == "contact_deleted"), None)

    alert = _poll(deletion_alert, timeout=300, what="an alert for a customer deleted from a phone")
    assert alert["customer_id"] and alert["context"]
    customer = client.get(f"/api/v1/customers/{alert['customer_id']}")
    assert customer.status_code == 200, customer.text
