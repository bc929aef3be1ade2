"""``fieldcrm agent watch``: follow ``host:track-devices``, sync phones as they are plugged in and on a schedule.

Every state change is reported to the server: a phone that becomes ready (plugged in and
authorised, or reconnected over Wi-Fi) is synced at once (its device-status report says so);
any other state goes as a device-status report of its own (``agent.adb_state``). Every ready
phone is synced again every ``sync_interval_s`` (APScheduler). Phones listed in
``tcp_devices`` are (re)connected with ``adb connect`` every ``reconnect_s``. Some adb servers
do not announce a phone's move from ``offline`` to ``unauthorized`` on ``track-devices``, so
phones shown offline are re-read from ``adb devices`` every ``refresh_s``. Every
``command_poll_s`` the server is asked for commands for the phones this agent holds tokens for
(:mod:`device_agent.remote`), with how adb sees each of them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from apscheduler.schedulers.background import BackgroundScheduler

from device_agent.adb import GONE, READY, Attached
from device_agent.agent import Agent
from device_agent.errors import AgentError
from device_agent.fleet import PhoneRow, describe
from device_agent.logs import log_event
from device_agent.remote import CommandEvent, RemoteCommands
from device_agent.sync import SyncReport, report_presence, sync_phone


@dataclass(frozen=True)
class WatchEvent:
    kind: str  # "state", "sync" or "command"
    adb_serial: str
    state: str
    row: PhoneRow | None = None
    sync: SyncReport | None = None
    command: CommandEvent | None = None


class Watcher:
    def __init__(
        self,
        agent: Agent,
        on_event: Callable[[WatchEvent], None],
        *,
        reconnect_s: float = 30.0,
        refresh_s: float = 1.0,
    ) -> None:
        self.agent = agent
        self.on_event = on_event
        self.reconnect_s = reconnect_s
        self.refresh_s = refresh_s
        self.stop = threading.Event()
        self.states: dict[str, str] = {}
        self._pool = ThreadPoolExecutor(max_workers=agent.settings.parallel, thread_name_prefix="watch-sync")
        self._running: dict[str, Future[None]] = {}
        self._lock = threading.Lock()
        self._state_lock = threading.RLock()
        self.remote = (RemoteCommands(agent, lambda: dict(self.states), self._command_event)
                       if agent.settings.command_poll_s > 0 else None)

    def _command_event(self, event: CommandEvent) -> None:
        self.on_event(WatchEvent("command", event.adb_serial, event.state, command=event))

    def sync_soon(self, serial: str) -> None:
        """Queue a sync unless one is already queued or running for this phone."""
        with self._lock:
            running = self._running.get(serial)
            if running is not None and not running.done():
                return
            self._running[serial] = self._pool.submit(self._sync, serial)

    def _sync(self, serial: str) -> None:
        report = sync_phone(self.agent, serial)
        self.on_event(WatchEvent("sync", serial, self.states.get(serial, READY), sync=report))

    def sync_ready(self) -> None:
        for serial, state in list(self.states.items()):
            if state == READY:
                self.sync_soon(serial)

    def reconnect(self) -> None:
        for address in self.agent.settings.tcp_devices:
            if self.states.get(address) != READY:
                answer = self.agent.adb.connect(address)
                log_event("agent.watch.connect", address=address, answer=answer)

    def refresh_offline(self) -> None:
        if "offline" not in self.states.values():
            return
        current = {a.serial: a.state for a in self.agent.adb.devices()}
        for serial, state in list(self.states.items()):
            if state == "offline" and current.get(serial, GONE) != state:
                self._changed(serial, current.get(serial, GONE))

    def _changed(self, serial: str, state: str) -> None:
        with self._state_lock:
            if self.states.get(serial, GONE) == state:
                return
            self._report(serial, state)

    def _report(self, serial: str, state: str) -> None:
        previous = self.states.get(serial)
        if state == GONE:
            self.states.pop(serial, None)
        else:
            self.states[serial] = state
        row = None
        if state != GONE:
            try:
                row = describe(self.agent, Attached(serial, state))
            except AgentError as exc:
                log_event("agent.watch.describe_failed", serial=serial, error=str(exc))
        log_event("agent.watch.state", serial=serial, state=state, previous=previous)
        self.on_event(WatchEvent("state", serial, state, row=row))
        if state == READY and previous != READY:
            self.sync_soon(serial)
        elif state != READY:
            self._pool.submit(report_presence, self.agent, serial, state)

    def run(self) -> None:
        """Block until :attr:`stop` is set (or the adb server goes away: raises AgentError)."""
        scheduler = BackgroundScheduler()
        scheduler.add_job(self.sync_ready, "interval", seconds=self.agent.settings.sync_interval_s,
                          max_instances=1, coalesce=True)
        scheduler.add_job(self.refresh_offline, "interval", seconds=self.refresh_s, max_instances=1, coalesce=True)
        if self.agent.settings.tcp_devices:
            scheduler.add_job(self.reconnect, "interval", seconds=self.reconnect_s, max_instances=1, coalesce=True)
        if self.remote is not None:
            scheduler.add_job(self.remote.poll, "interval", seconds=self.agent.settings.command_poll_s,
                              max_instances=1, coalesce=True)
        scheduler.start()
        try:
            self.reconnect()
            for snapshot in self.agent.adb.track(self.stop):
                for serial in [s for s in self.states if s not in snapshot]:
                    self._changed(serial, GONE)
                for serial, state in snapshot.items():
                    self._changed(serial, state)
        finally:
            scheduler.shutdown(wait=False)
            self._pool.shutdown(wait=True, cancel_futures=True)
            if self.remote is not None:
                self.remote.close()
