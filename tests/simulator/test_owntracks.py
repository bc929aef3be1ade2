"""The simulated OwnTracks app posts the phone's fixes over real HTTP to a receiver on loopback."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import adbutils
import pytest

from device_agent.simulator import SimulatedPhone
from device_agent.simulator.permissions import BACKGROUND, COARSE, FINE
from device_agent.simulator.state import Package

OWNTRACKS = "org.owntracks.android"


@dataclass
class Receiver:
    """An HTTP endpoint that records each request and answers with the next scripted status (then 200)."""

    url: str = ""
    requests: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return [body for _headers, body in self.requests]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.requests) >= count, f"{len(self.requests)} of {count} requests arrived"
        return self.messages


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            made.requests.append((dict(self.headers.items()), body))
            status = made.statuses.pop(0) if made.statuses else 200
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"[]")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    made.url = f"http://127.0.0.1:{server.server_address[1]}/api/v1/trackers/owntracks"
    yield made
    server.shutdown()
    server.server_close()


def _config(url: str, **extra: object) -> dict[str, object]:
    return {"_type": "configuration", "mode": 3, "url": url, "auth": True, "username": "SER1",
            "password": "fcd_token", "deviceId": "SER1", "tid": "R1", **extra}


@pytest.fixture
def tracking(phone: SimulatedPhone, receiver: Receiver) -> SimulatedPhone:
    """The phone with OwnTracks installed, allowed all the time, configured for the receiver, running."""
    phone.tracker.backoff_s = 0.01
    phone.tracker.backoff_max_s = 0.05
    with phone.core.lock:
        phone.state.identity.sdk = 33
        phone.state.packages[OWNTRACKS] = Package(
            label="OwnTracks", launcher_activity=".ui.map.MapActivity",
            requested_permissions=[FINE, COARSE, BACKGROUND, "android.permission.INTERNET"],
            granted_permissions=[FINE, COARSE, BACKGROUND], config=_config(receiver.url))
    return phone


def _fix(phone: SimulatedPhone, lat: float) -> int:
    """Record a fix one minute later on the phone's clock; returns its tst."""
    phone.advance(60)
    phone.core.add_fix(lat, 121.47, accuracy=6.4)
    return phone.state.clock_ms // 1000


def test_each_new_fix_is_posted_in_order_with_basic_auth(tracking: SimulatedPhone, receiver: Receiver) -> None:
    before = len(tracking.state.fixes)
    report = tracking.advance(16 * 3600)  # Wednesday 17:30 → Thursday 09:30: the drive to the first customers
    assert report.fixes > 5
    new = tracking.state.fixes[before:]
    messages = receiver.wait_for(len(new))
    assert [m["tst"] for m in messages] == [f.time_ms // 1000 for f in new]
    assert [(m["lat"], m["lon"]) for m in messages] == [(f.lat, f.lon) for f in new]
    moving = next(i for i, f in enumerate(new) if f.speed)
    assert messages[moving]["vel"] == round(new[moving].speed * 3.6)  # km/h, as OwnTracks sends
    assert messages[moving]["cog"] == round(new[moving].bearing)
    first = messages[0]
    assert first["_type"] == "location" and first["tid"] == "R1" and "t" not in first
    assert {"acc", "alt", "batt", "bs", "conn", "created_at"} <= set(first)
    headers = receiver.requests[0][0]
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"SER1:fcd_token").decode()
    assert headers["X-Limit-D"] == "SER1"
    assert headers["Content-Type"].startswith("application/json")
    assert tracking.tracker.wait_idle(5) and tracking.tracker.posted == len(new)


def test_saving_the_configuration_publishes_the_last_fix(tracking: SimulatedPhone, receiver: Receiver) -> None:
    tracking.state.packages[OWNTRACKS].config = None
    tst = _fix(tracking, 31.2)  # nothing configured yet: not posted
    inline = base64.urlsafe_b64encode(json.dumps(_config(receiver.url)).encode()).decode()
    ui = tracking.ui
    assert ui.open_intent("android.intent.action.VIEW", f"owntracks:///config?inline={inline}", None)
    [save] = ui.find({"text": "Save"})
    left, top, right, bottom = save.bounds
    assert ui.click((left + right) / 2, (top + bottom) / 2)
    [message] = receiver.wait_for(1)
    assert message["tst"] == tst and message["lat"] == 31.2
    assert message["t"] == "u"  # published on request, like "publish now"


@pytest.mark.parametrize("block", ["no background location", "force-stopped", "not HTTP mode", "switched off"])
def test_nothing_is_posted_while_the_app_may_not(tracking: SimulatedPhone, receiver: Receiver, block: str) -> None:
    package = tracking.state.packages[OWNTRACKS]
    undo: Callable[[], None]
    if block == "no background location":
        package.granted_permissions.remove(BACKGROUND)
        undo = lambda: package.granted_permissions.append(BACKGROUND)  # noqa: E731
    elif block == "force-stopped":
        tracking.ui.force_stop(OWNTRACKS)
        undo = lambda: tracking.ui.launch(OWNTRACKS)  # noqa: E731
    elif block == "not HTTP mode":
        package.config = _config(receiver.url, mode=0)
        undo = lambda: setattr(package, "config", _config(receiver.url))  # noqa: E731
    else:
        tracking.tracker.enabled = False
        undo = lambda: setattr(tracking.tracker, "enabled", True)  # noqa: E731
    _fix(tracking, 31.1)
    undo()
    tst = _fix(tracking, 31.3)
    # One sender posts in order, so once the second fix has arrived the first would have too.
    assert [m["tst"] for m in receiver.wait_for(1)] == [tst]


def test_offline_tracker_queues_then_delivers(tracking: SimulatedPhone, receiver: Receiver) -> None:
    tracking.faults.tracker_offline = True
    tracking.tracker.max_queue = 3
    sent = [_fix(tracking, 31.0 + i / 100) for i in range(5)]
    assert tracking.tracker.pending == 3 and tracking.tracker.dropped == 2  # the oldest went first
    assert receiver.requests == []  # nothing is tried while offline
    tracking.faults.clear()
    assert [m["tst"] for m in receiver.wait_for(3)] == sent[2:]
    assert tracking.tracker.wait_idle(5)


def test_server_errors_are_retried_and_never_stop_the_phone(tracking: SimulatedPhone, receiver: Receiver,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    receiver.statuses = [500, 503]
    tst = _fix(tracking, 31.0)
    assert [m["tst"] for m in receiver.wait_for(3)] == [tst] * 3
    assert tracking.tracker.wait_idle(5)
    assert (tracking.tracker.posted, tracking.tracker.failures) == (1, 2)
    assert "sim.owntracks.post_failed" in caplog.text and "HTTP 503" in caplog.text

    tracking.tracker.max_attempts = 1
    receiver.statuses = [401]
    _fix(tracking, 31.1)  # refused and given up
    kept = _fix(tracking, 31.2)
    assert [m["tst"] for m in receiver.wait_for(5)][3:] == [tst + 60, kept]
    assert tracking.tracker.wait_idle(5) and tracking.tracker.dropped == 1


def test_unreachable_server_is_retried_until_it_answers(tracking: SimulatedPhone, receiver: Receiver) -> None:
    package = tracking.state.packages[OWNTRACKS]
    package.config = _config("http://127.0.0.1:9/owntracks")  # discard port: connection refused
    tst = _fix(tracking, 31.0)
    deadline = time.monotonic() + 10
    while tracking.tracker.failures < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert tracking.tracker.failures >= 2 and "ConnectError" in tracking.tracker.last_error
    later = _fix(tracking, 31.1)  # the phone goes on recording, the app queueing
    assert tracking.tracker.pending == 2
    package.config = _config(receiver.url)
    assert [m["tst"] for m in receiver.wait_for(2)] == [tst, later]


def test_install_leaves_the_app_stopped_until_started(device: adbutils.AdbDevice, phone: SimulatedPhone) -> None:
    from device_agent.simulator import make_apk

    device.sync.push(make_apk(OWNTRACKS, label="OwnTracks", permissions=(FINE,)), "/data/local/tmp/ot.apk")
    assert "Success" in device.shell("pm install -r -t /data/local/tmp/ot.apk")
    assert " stopped=true " in device.shell(f"dumpsys package {OWNTRACKS}")
    device.shell(f"monkey -p {OWNTRACKS} -c android.intent.category.LAUNCHER 1")
    assert " stopped=false " in device.shell(f"dumpsys package {OWNTRACKS}")
    device.shell(f"am force-stop {OWNTRACKS}")
    assert phone.state.packages[OWNTRACKS].stopped


def test_clock_catching_up_stops_at_wall_time(phone: SimulatedPhone) -> None:
    with phone.core.lock:
        phone.state.generator = None  # a phone that only changes when scripted
        phone.state.clock_ms = int(time.time() * 1000) - 3_600_000
    phone.run_clock(speed=100_000, tick=0.05, catch_up=True)
    deadline = time.monotonic() + 10
    start = phone.state.clock_ms
    while phone.state.clock_ms - start < 3_000_000 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert phone.state.clock_ms - start >= 3_000_000  # an hour of phone time went by fast
    assert phone.state.clock_ms <= time.time() * 1000  # and never past the present
