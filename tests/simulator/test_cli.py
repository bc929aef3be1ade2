"""`fieldcrm sim generate/start/stop` (run as `python -m device_agent.simulator.cli`)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from device_agent.simulator.adbserver import AdbServer, free_port
from device_agent.simulator.cli import app


def test_generate_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["generate", "--phones", "2", "--state-dir", str(tmp_path), "--days", "0", "--brands", "vivo,huawei",
            "--now", "2024-05-15T08:00"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    brands = [json.loads((tmp_path / f"phone-0{i}" / "phone.json").read_text())["identity"]["oem"] for i in (1, 2)]
    assert brands == ["vivo", "huawei"]
    again = runner.invoke(app, args)
    assert again.exit_code == 2
    assert "--force" in again.output
    bad = runner.invoke(app, ["generate", "--state-dir", str(tmp_path / "n"), "--now", "yesterday"])
    assert bad.exit_code == 2


def test_start_connect_and_stop(tmp_path: Path) -> None:
    with AdbServer() as adb_server:  # the CLI only runs `adb connect`: one adb binary is enough
        _start_connect_and_stop(tmp_path, adb_server)


def _free_port_pair() -> int:
    """A port whose successor is free too (the CLI serves phones on consecutive ports)."""
    for _ in range(100):
        base = free_port()
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", base + 1))
            except OSError:
                continue
        return base
    raise RuntimeError("no two consecutive free ports")


def _start_connect_and_stop(tmp_path: Path, adb_server: AdbServer) -> None:
    made = CliRunner().invoke(app, ["generate", "--phones", "2", "--state-dir", str(tmp_path), "--days", "0"])
    assert made.exit_code == 0, made.output
    base = _free_port_pair()
    cli = [sys.executable, "-m", "device_agent.simulator.cli"]
    proc = subprocess.Popen([*cli, "start", "--phones", "2", "--state-dir", str(tmp_path), "--base-port", str(base),
                             "--connect", "--adb", adb_server.binary],
                            env={**os.environ, "ANDROID_ADB_SERVER_PORT": str(adb_server.port)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for port in (base, base + 1):
            try:
                adb_server.wait_for(f"127.0.0.1:{port}", timeout=60)
            except TimeoutError as exc:
                proc.kill()
                raise AssertionError(f"{exc}; simulator output:\n{proc.communicate()[0][-3000:]}") from exc
        assert adb_server.client.device(f"127.0.0.1:{base + 1}").shell("echo up") == "up"
    finally:
        stopped = subprocess.run([*cli, "stop", "--state-dir", str(tmp_path), "--adb", adb_server.binary],
                                 capture_output=True, text=True, timeout=60,
                                 env={**os.environ, "ANDROID_ADB_SERVER_PORT": str(adb_server.port)})
        proc.wait(timeout=30)
    assert stopped.returncode == 0, stopped.stdout
    assert proc.returncode == 0
    assert not (tmp_path / "sim.pid").exists()
    deadline = time.monotonic() + 10
    while adb_server.state(f"127.0.0.1:{base}") is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert adb_server.state(f"127.0.0.1:{base}") is None
