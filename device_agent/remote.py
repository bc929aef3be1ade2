"""Commands from the server, for ``fieldcrm agent watch`` (docs/agent.md, "Remote commands").

Every ``command_poll_s`` the agent asks the server, once per phone it holds a token for and
with that phone's token, for work: the request says how adb sees the phone right now (the
fleet page shows it with its age) and which of the phone's commands it is still running (the
server renews their leases). At most one command per phone runs at a time; it is carried out
with the same code as ``fieldcrm agent sync`` / ``provision`` and its outcome is reported back.

A command for a phone that is not connected to this PC fails at once with that reason (IT
plugs it in and asks again). A phone another sync is busy with is waited for.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from device_agent.adb import GONE
from device_agent.agent import Agent
from device_agent.credentials import DeviceCredential
from device_agent.errors import AgentError, NotEnrolled, ServerError
from device_agent.logs import log_event
from device_agent.provision.results import Status
from device_agent.provision.runner import PhoneReport, provision_phone
from device_agent.provision.steps import Target
from device_agent.server_api import Backoff, ServerApi
from device_agent.sync import SyncReport, sync_phone

#: How long a command waits for a phone another sync or provisioning holds.
BUSY_WAIT_S = 600.0
SYNC_OK = ("ok", "partial")


@dataclass(frozen=True)
class Outcome:
    state: str  # done | failed
    message: str
    result: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CommandEvent:
    """A command claimed (``state`` = claimed) or finished (done / failed), for the watcher's output."""

    id: int
    kind: str
    device: str
    adb_serial: str
    state: str
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _while_busy(attempt: Callable[[], Any], busy: Callable[[Any], bool]) -> Any:
    deadline = time.monotonic() + BUSY_WAIT_S
    outcome = attempt()
    while busy(outcome) and time.monotonic() < deadline:
        time.sleep(1.0)
        outcome = attempt()
    return outcome


def _sync(agent: Agent, adb_serial: str) -> Outcome:
    report: SyncReport = _while_busy(lambda: sync_phone(agent, adb_serial), lambda r: r.result == "busy")
    sent = ", ".join(f"{kind} {n}" for kind, n in report.uploaded.items()) or "nothing new"
    message = f"{report.result}: uploaded {sent}" + (f"; {report.message}" if report.message else "")
    result = {
        "result": report.result,
        "uploaded": report.uploaded,
        "rejected": report.rejected,
        "pending": report.pending,
        "sources": [{"source": s.source, "outcome": s.outcome.value, "new": s.new, "detail": s.detail[:200]}
                    for s in report.sources],
        "clock_skew_s": report.clock_skew_s,
        "seconds": report.seconds,
    }
    return Outcome("done" if report.result in SYNC_OK else "failed", message, result)


def _provision(agent: Agent, adb_serial: str) -> Outcome:
    def busy(report: PhoneReport) -> bool:
        return any(s.step == "lock" and s.status is Status.FAILED for s in report.steps)

    report: PhoneReport = _while_busy(
        lambda: provision_phone(agent, Target(adb_serial), lambda *_: None), busy
    )
    open_items = [s for s in report.steps if not s.status.ok and s.status is not Status.SKIPPED]
    if report.ok:
        message = "every step done or already done"
    else:
        message = "; ".join(f"{s.step}: {s.status.value}" + (f" — {s.detail}" if s.detail else "")
                            for s in open_items)
    result = report.as_dict()
    for step in result["steps"]:
        step["detail"] = step["detail"][:300]
    return Outcome("done" if report.ok else "failed", message, result)


RUNNERS: dict[str, Callable[[Agent, str], Outcome]] = {"sync": _sync, "provision": _provision}


def run_command(agent: Agent, kind: str, adb_serial: str, adb_state: str, host: str) -> Outcome:
    """Carry out one command for a phone that adb sees as ``adb_state`` under ``adb_serial``."""
    runner = RUNNERS.get(kind)
    if runner is None:
        return Outcome("failed", f"this agent does not know the command {kind!r}")
    if adb_state == GONE:
        return Outcome("failed", f"the phone is not connected to the agent on {host}: plug it in and try again",
                       {"adb_state": adb_state})
    return runner(agent, adb_serial)


def locate(agent: Agent, states: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Per phone (its own serial): the adb serial and state the watcher sees it under, or ``gone``.

    A TCP phone's adb serial is its address, remembered when it was last ready; a USB phone's is
    its own serial."""
    where: dict[str, tuple[str, str]] = {}
    for device, entry in agent.store.fleet().items():
        for serial in (entry["adb_serial"], device):
            if serial in states:
                where[device] = (serial, states[serial])
                break
        else:
            where[device] = (entry["adb_serial"], GONE)
    return where


class RemoteCommands:
    """Polls the server for the phones this agent holds tokens for and runs what it claims."""

    def __init__(
        self,
        agent: Agent,
        states: Callable[[], dict[str, str]],
        on_event: Callable[[CommandEvent], None],
        *,
        host: str | None = None,
    ) -> None:
        self.agent = agent
        self.states = states
        self.on_event = on_event
        self.host = (host or socket.gethostname())[:100]
        self._running: dict[str, int] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=agent.settings.parallel, thread_name_prefix="remote")
        settings = agent.settings
        # A poll is not retried: the next one comes in a few seconds anyway.
        self._poll_api = ServerApi(settings.server_url, timeout_s=min(settings.http_timeout_s, 10.0),
                                   backoff=Backoff(attempts=1))

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._poll_api.close()

    def poll(self) -> None:
        """One round: a poll per phone this agent holds a token for."""
        states = self.states()
        where = locate(self.agent, states)
        for device, credential in self.agent.credentials.all().items():
            adb_serial, adb_state = where.get(device, (device, states.get(device, GONE)))
            with self._lock:
                running = self._running.get(device)
            body = {"adb_state": adb_state, "adb_serial": adb_serial[:64], "host": self.host,
                    "running": [running] if running else [], "claim": running is None}
            try:
                answer = self._poll_api.answer("POST", "/api/v1/agent/commands/poll", token=credential.token,
                                               json=body)
            except NotEnrolled as exc:
                log_event("agent.remote.revoked", logging.WARNING, device=device, error=str(exc))
                continue
            except ServerError as exc:
                log_event("agent.remote.poll_failed", logging.WARNING, device=device, error=str(exc))
                if exc.retryable:
                    return  # the server is away: try every phone again next round
                continue
            command = answer.get("command")
            if command:
                self._start(device, credential, adb_serial, adb_state, command)

    def _start(self, device: str, credential: DeviceCredential, adb_serial: str, adb_state: str,
               command: dict[str, Any]) -> None:
        with self._lock:
            self._running[device] = int(command["id"])
        log_event("agent.remote.claimed", device=device, command=command["id"], kind=command["kind"])
        self.on_event(CommandEvent(command["id"], command["kind"], device, adb_serial, "claimed"))
        self._pool.submit(self._run, device, credential, adb_serial, adb_state, command)

    def _run(self, device: str, credential: DeviceCredential, adb_serial: str, adb_state: str,
             command: dict[str, Any]) -> None:
        try:
            try:
                outcome = run_command(self.agent, command["kind"], adb_serial, adb_state, self.host)
            except AgentError as exc:
                outcome = Outcome("failed", str(exc))
            except Exception as exc:  # a bug must not leave the command claimed (and renewed) for ever
                log_event("agent.remote.crashed", logging.ERROR, device=device, command=command["id"], error=repr(exc))
                outcome = Outcome("failed", f"the agent failed: {exc!r}")
            self._report(credential, command["id"], outcome)
        finally:
            with self._lock:
                self._running.pop(device, None)
        log_event("agent.remote.finished", device=device, command=command["id"], state=outcome.state)
        self.on_event(CommandEvent(command["id"], command["kind"], device, adb_serial, outcome.state, outcome.message))

    def _report(self, credential: DeviceCredential, command_id: int, outcome: Outcome) -> None:
        body = {"state": outcome.state, "message": outcome.message[:500], "result": outcome.result}
        try:
            with self.agent.api() as api:
                api.request("POST", f"/api/v1/agent/commands/{command_id}/finish", token=credential.token, json=body)
        except (ServerError, NotEnrolled) as exc:  # the lease runs out and the server queues it again
            log_event("agent.remote.report_failed", logging.WARNING, command=command_id, error=str(exc))
