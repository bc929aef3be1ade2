"""The pieces one agent process works with: settings, adb server, local store, credentials, server API."""

from __future__ import annotations

import fcntl
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from device_agent.adb import AdbServer
from device_agent.config import AgentSettings
from device_agent.credentials import CredentialStore
from device_agent.errors import AgentError
from device_agent.server_api import Backoff, ServerApi
from device_agent.store import AgentStore

#: How often (s) the interpreter hands its lock from a thread that computes to one that waits for it (Python's
#: default is 5 ms). A sync's pull thread needs the lock briefly after every socket read, file write and hash
#: update; next to the lanes decoding SMS and calls it would otherwise wait up to 5 ms each time.
SWITCH_INTERVAL_S = 0.001


class Busy(AgentError):
    """Another agent process is working on this phone right now."""


@dataclass
class Agent:
    settings: AgentSettings
    adb: AdbServer
    store: AgentStore
    credentials: CredentialStore

    @classmethod
    def open(cls, settings: AgentSettings) -> Agent:
        """The agent's pieces; also sets this process's thread switch interval (:data:`SWITCH_INTERVAL_S`)."""
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(settings.state_dir, 0o700)
        adb = AdbServer(settings.adb_host, settings.adb_port)
        adb.ensure_running()
        return cls(settings, adb, AgentStore(settings.database_path), CredentialStore(settings.credentials_path))

    def api(self) -> ServerApi:
        s = self.settings
        return ServerApi(
            s.server_url,
            timeout_s=s.http_timeout_s,
            backoff=Backoff(attempts=s.max_attempts, first_s=s.backoff_s, max_s=s.backoff_max_s),
        )

    @contextmanager
    def device_lock(self, device: str) -> Iterator[None]:
        """Exclusive per phone across agent processes (a killed process releases it)."""
        locks = self.settings.state_dir / "locks"
        locks.mkdir(exist_ok=True)
        with open(locks / f"{device}.lock", "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise Busy(f"{device}: another agent process is working on this phone") from None
            yield
