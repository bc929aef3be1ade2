"""The adb server: starting it, listing and following devices, connecting phones over TCP."""

from __future__ import annotations

import select
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import adbutils
from adbutils.errors import AdbError

from device_agent.errors import AgentError, DeviceNotReady
from device_agent.phone import Phone

#: States `host:track-devices` reports, plus ``gone`` for a serial that disappeared.
READY = "device"
GONE = "gone"


@dataclass(frozen=True)
class Attached:
    """One line of ``adb devices``."""

    serial: str
    state: str

    @property
    def over_tcp(self) -> bool:
        host, sep, port = self.serial.rpartition(":")
        return bool(sep and host and port.isdigit())


class AdbServer:
    """A client of one adb server (``host:port``), started on demand with the adb binary."""

    def __init__(self, host: str = "127.0.0.1", port: int = 5037) -> None:
        self.host = host
        self.port = port
        self.client = adbutils.AdbClient(host=host, port=port)

    def _reachable(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def ensure_running(self) -> None:
        """Start a local adb server on our port when none answers (adbutils would use the env port)."""
        if self._reachable():
            return
        if self.host not in ("127.0.0.1", "localhost"):
            raise AgentError(f"no adb server answers at {self.host}:{self.port}")
        try:
            result = subprocess.run(
                [adbutils.adb_path(), "-P", str(self.port), "start-server"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired, AdbError) as exc:
            raise AgentError(f"cannot start the adb server on port {self.port}: {exc}") from exc
        if result.returncode != 0 or not self._reachable():
            raise AgentError(f"adb start-server failed on port {self.port}: {result.stderr.strip()}")

    def devices(self) -> list[Attached]:
        try:
            return [Attached(info.serial, info.state) for info in self.client.list()]
        except (AdbError, OSError) as exc:
            raise AgentError(f"adb server {self.host}:{self.port} did not answer: {exc}") from exc

    def state_of(self, serial: str) -> str:
        return next((d.state for d in self.devices() if d.serial == serial), GONE)

    def phone(self, serial: str) -> Phone:
        """A ready phone; raises :class:`DeviceNotReady` when it is unauthorized, offline or absent."""
        state = self.state_of(serial)
        if state != READY:
            raise DeviceNotReady(serial, "absent" if state == GONE else state)
        return Phone(self.client, serial)

    def connect(self, address: str) -> str:
        """``adb connect host:port``; returns adb's answer (it never raises for an unreachable phone)."""
        try:
            return self.client.connect(address, timeout=10)
        except (AdbError, OSError) as exc:
            return f"failed to connect to {address}: {exc}"

    def track(self, stop: threading.Event, poll_s: float = 0.5) -> Iterator[dict[str, str]]:
        """Snapshots ``{serial: state}`` from ``host:track-devices``, one per change, until ``stop`` is set.

        The first snapshot is the current list. Raises :class:`AgentError` if the adb server goes away.
        """
        try:
            conn = self.client.make_connection(timeout=10)
            conn.send_command("host:track-devices")
            conn.check_okay()
        except (AdbError, OSError) as exc:
            raise AgentError(f"cannot follow devices on adb server {self.host}:{self.port}: {exc}") from exc
        with conn:
            while not stop.is_set():
                readable, _, _ = select.select([conn.conn], [], [], poll_s)
                if not readable:
                    continue
                try:
                    conn.conn.settimeout(10)
                    size = int(conn.read_exact(4), 16)
                    body = conn.read_exact(size).decode("utf-8", "replace") if size else ""
                except (AdbError, OSError, EOFError, ValueError) as exc:
                    raise AgentError(f"adb server {self.host}:{self.port} went away: {exc}") from exc
                yield dict(line.split("\t", 1) for line in body.splitlines() if "\t" in line)
