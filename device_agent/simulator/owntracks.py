"""The OwnTracks app of a simulated phone, in HTTP mode: each new fix is POSTed to the configured URL.

It reports when `org.owntracks.android` is installed and not stopped, holds a saved
configuration with `mode: 3` and a `url`, and may read the location (fine location; on
Android 10+ also background, "Allow all the time"). Messages are what OwnTracks sends
(`_type: location`, `tst` = the fix's time on the phone's clock, `vel` in km/h, ...) with
Basic auth `username:password` and the `X-Limit-U`/`X-Limit-D` headers. OwnTracks has no
mock-location flag, so mock fixes go out like any other. Saving a configuration publishes
the last known fix once (`t: "u"`, as "publish now" does).

A thread per phone sends them in order, so the adb side never waits for the network. A
failed send (no answer, or not 2xx) is retried with exponential backoff; the queue is
bounded (the oldest message goes when it is full) and lives in memory, so stopping the
phone or the app loses it, as killing the real app's process does.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from .dumpsys import last_by_provider
from .permissions import BACKGROUND, FINE, is_granted
from .state import Fix, Package, PhoneState
from .ui.screens import OWNTRACKS

if TYPE_CHECKING:
    from .core import PhoneCore

log = logging.getLogger(__name__)

USER_AGENT = "Owntracks-Android/gms/420412"
TRIGGER_USER = "u"
BATTERY_FULL = 5


def location_message(fix: Fix, state: PhoneState, config: dict[str, Any], trigger: str | None = None
                     ) -> dict[str, Any]:
    """The OwnTracks `location` message for a fix, with the phone's battery now."""
    battery = state.battery
    tid = str(config.get("tid") or str(config.get("deviceId") or "")[-2:] or "OT")
    message: dict[str, Any] = {
        "_type": "location", "lat": fix.lat, "lon": fix.lon, "tst": fix.time_ms // 1000, "tid": tid,
        "acc": round(fix.accuracy), "batt": round(100 * battery.level / battery.scale),
        "bs": 3 if battery.status == BATTERY_FULL else 2 if battery.plugged else 1, "conn": "m",
        "m": config.get("monitoring", 1), "topic": f"owntracks/http/{tid}",
        "created_at": max(fix.time_ms, state.clock_ms) // 1000,
    }
    if fix.altitude is not None:
        message["alt"] = round(fix.altitude)
    if fix.speed is not None:
        message["vel"] = round(fix.speed * 3.6)
    if fix.bearing is not None:
        message["cog"] = round(fix.bearing)
    if trigger is not None:
        message["t"] = trigger
    return message


def _may_locate(package: Package, sdk: int) -> bool:
    return is_granted(package, FINE, sdk) and (sdk < 29 or is_granted(package, BACKGROUND, sdk))


@dataclass
class _Outgoing:
    message: dict[str, Any]
    attempts: int = 0


class OwnTracksApp:
    """OwnTracks on one phone. Attributes may be changed from any thread.

    `enabled = False` switches the simulated app off (nothing is queued, the queue is
    discarded); `phone.faults.tracker_offline` keeps it queueing without sending.
    """

    def __init__(self, core: PhoneCore, *, max_queue: int = 1000, backoff_s: float = 1.0,
                 backoff_max_s: float = 60.0, max_attempts: int = 10_000, timeout_s: float = 5.0) -> None:
        self.core = core
        self.enabled = True
        self.max_queue = max_queue
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.max_attempts = max_attempts
        """OwnTracks gives a location message 10,000 attempts ("a week at one a minute")."""
        self.timeout_s = timeout_s
        self.offline_poll_s = 0.1
        self.posted = 0
        """Messages the server answered with 2xx."""
        self.failures = 0
        """Attempts that failed (no answer, or not 2xx)."""
        self.dropped = 0
        """Messages given up: queue full, attempts used up, or the app can no longer send."""
        self.last_error = ""
        self._queue: deque[_Outgoing] = deque()
        self._busy = False
        self._cond = threading.Condition()
        self._running = False
        self._thread: threading.Thread | None = None
        core.observers.append(self)

    # --- lifecycle (the phone's power) ------------------------------------------------
    def power_on(self) -> None:
        with self._cond:
            self._running = True

    def power_off(self, timeout: float = 10.0) -> None:
        """Stop sending; what is queued is lost."""
        with self._cond:
            self._running = False
            self._queue.clear()
            self._cond.notify_all()
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)

    # --- what tests look at -----------------------------------------------------------
    @property
    def pending(self) -> int:
        """Messages waiting to be sent (including one being sent)."""
        with self._cond:
            return len(self._queue)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is queued or being sent; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    # --- AppObserver --------------------------------------------------------------------
    def fix_recorded(self, fix: Fix) -> None:
        config = self._locating_config()
        if config is not None:
            self._enqueue(location_message(fix, self.core.state, config))

    def app_configured(self, package: str) -> None:
        config = self._locating_config() if package == OWNTRACKS else None
        last = max(last_by_provider(self.core.state).values(), key=lambda f: f.time_ms, default=None)
        if config is not None and last is not None:
            self._enqueue(location_message(last, self.core.state, config, TRIGGER_USER))

    # --- state ---------------------------------------------------------------------------
    def _endpoint(self) -> dict[str, Any] | None:
        """The configuration to send with, when the app is on, running and in HTTP mode."""
        with self.core.lock:
            package = self.core.state.packages.get(OWNTRACKS)
            if not self.enabled or package is None or package.stopped or not package.config:
                return None
            config = dict(package.config)
        return config if config.get("mode") == 3 and config.get("url") else None

    def _locating_config(self) -> dict[str, Any] | None:
        """The configuration, when the app also gets location updates."""
        config = self._endpoint()
        with self.core.lock:
            package = self.core.state.packages.get(OWNTRACKS)
            located = package is not None and _may_locate(package, self.core.state.identity.sdk)
        return config if located else None

    # --- queue ---------------------------------------------------------------------------
    def _enqueue(self, message: dict[str, Any]) -> None:
        with self._cond:
            if not self._running:
                return
            if len(self._queue) >= self.max_queue:
                self._queue.popleft()
                self.dropped += 1
                log.warning("sim.owntracks.queue_full serial=%s dropped the oldest message", self._serial)
            self._queue.append(_Outgoing(message))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=f"owntracks-{self._serial}", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    @property
    def _serial(self) -> str:
        return self.core.state.identity.serial

    def _next(self) -> _Outgoing | None:
        with self._cond:
            while self._running and not self._queue:
                self._cond.wait()
            if not self._running:
                return None
            self._busy = True
            return self._queue[0]

    def _done(self, item: _Outgoing, *, drop: bool = False, everything: bool = False) -> None:
        with self._cond:
            if everything:
                self.dropped += len(self._queue)
                self._queue.clear()
            elif self._queue and self._queue[0] is item:
                self._queue.popleft()
                self.dropped += drop
            self._busy = False
            self._cond.notify_all()

    def _pause(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        with self._cond:
            self._busy = False
            self._cond.notify_all()
            while self._running and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(left)

    # --- sending -------------------------------------------------------------------------
    def _run(self) -> None:
        timeout = httpx.Timeout(self.timeout_s, connect=min(2.0, self.timeout_s))
        with httpx.Client(timeout=timeout, trust_env=False) as client:
            while (item := self._next()) is not None:
                if self.core.faults.tracker_offline:
                    self._pause(self.offline_poll_s)
                    continue
                config = self._endpoint()
                if config is None:
                    log.warning("sim.owntracks.discarded serial=%s messages=%d reason=app off, stopped or "
                                "unconfigured", self._serial, self.pending)
                    self._done(item, everything=True)
                    continue
                error = self._post(client, config, item.message)
                if error is None:
                    self.posted += 1
                    self._done(item)
                    continue
                item.attempts += 1
                self.failures += 1
                self.last_error = error
                if item.attempts >= self.max_attempts:
                    log.warning("sim.owntracks.gave_up serial=%s tst=%s attempts=%d error=%s", self._serial,
                                item.message.get("tst"), item.attempts, error)
                    self._done(item, drop=True)
                    continue
                delay = min(self.backoff_max_s, self.backoff_s * 2 ** (item.attempts - 1))
                log.warning("sim.owntracks.post_failed serial=%s url=%s attempt=%d error=%s retry_in=%.1fs",
                            self._serial, config["url"], item.attempts, error, delay)
                self._pause(delay)

    def _post(self, client: httpx.Client, config: dict[str, Any], message: dict[str, Any]) -> str | None:
        """Send one message; None when the server took it, else what went wrong."""
        username, password = str(config.get("username") or ""), str(config.get("password") or "")
        headers = {"User-Agent": USER_AGENT, "Content-Type": "application/json; charset=utf-8"}
        if username:
            headers["X-Limit-U"] = username
        if config.get("deviceId"):
            headers["X-Limit-D"] = str(config["deviceId"])
        try:
            response = client.post(str(config["url"]), content=json.dumps(message).encode(), headers=headers,
                                   auth=(username, password) if username and password else None)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # a broken URL or socket error must not end the app's thread
            log.exception("sim.owntracks.unexpected serial=%s", self._serial)
            return f"{type(exc).__name__}: {exc}"
        return None if response.is_success else f"HTTP {response.status_code}"
