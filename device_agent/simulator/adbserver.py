"""A dedicated adb server (its own port) for tests and demos that drive simulated phones."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import adbutils
from adbutils._utils import _get_bin_dir

from .phone import SimulatedPhone


def adb_binaries() -> dict[str, str]:
    """adb binaries on this machine: the one in the adbutils wheel, and Debian's when installed."""
    found = {"bundled": str(Path(_get_bin_dir()) / "adb")}
    system = shutil.which("adb")
    if system and Path(system).resolve() != Path(found["bundled"]).resolve():
        found["system"] = system
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AdbServer:
    """`adb -P PORT start-server` with a chosen binary; kill-server on stop()."""

    def __init__(self, binary: str | None = None, port: int | None = None) -> None:
        self.binary = binary or adb_binaries()["bundled"]
        self.port = port or free_port()
        self.client = adbutils.AdbClient(port=self.port)

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "ANDROID_ADB_SERVER_PORT": str(self.port)}
        return subprocess.run([self.binary, "-P", str(self.port), *args], capture_output=True, text=True,
                              timeout=timeout, env=env, stdin=subprocess.DEVNULL)

    def start(self) -> AdbServer:
        result = self.run("start-server")
        if result.returncode != 0:
            raise RuntimeError(f"adb start-server failed: {result.stderr.strip()}")
        return self

    def stop(self) -> None:
        self.run("kill-server")

    def __enter__(self) -> AdbServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def state(self, address: str) -> str | None:
        """The phone's state in `adb devices` (device, unauthorized, offline) or None when not listed."""
        for line in self.run("devices").stdout.splitlines()[1:]:
            serial, _, state = line.partition("\t")
            if serial == address:
                return state.strip()
        return None

    def wait_for(self, address: str, state: str = "device", timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while self.state(address) != state:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{address} not in state {state!r} (now {self.state(address)!r})")
            time.sleep(0.1)

    def connect(self, phone: SimulatedPhone, *, wait: bool = True) -> adbutils.AdbDevice:
        """`adb connect` the phone and return its adbutils device."""
        self.run("connect", phone.address)
        if wait:
            self.wait_for(phone.address)
        return self.client.device(phone.address)

    def disconnect(self, phone: SimulatedPhone) -> None:
        self.run("disconnect", phone.address)
