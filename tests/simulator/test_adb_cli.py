"""The adb command line against a simulated phone: devices -l, shell, push, pull."""

from __future__ import annotations

import hashlib
from pathlib import Path

from device_agent.simulator import SimulatedPhone
from device_agent.simulator.adbserver import AdbServer


def test_devices_lists_the_phone_with_its_product_model_and_device(adb_server: AdbServer, device,
                                                                   phone: SimulatedPhone) -> None:
    out = adb_server.run("devices", "-l").stdout
    line = next(line for line in out.splitlines() if line.startswith(phone.address))
    ident = phone.state.identity
    assert " device " in line
    assert f"product:{ident.product}" in line
    assert f"model:{ident.model.replace('-', '_').replace(' ', '_')}" in line
    assert f"device:{ident.device}" in line


def test_shell_returns_output_stderr_and_exit_code(adb_server: AdbServer, device, phone: SimulatedPhone) -> None:
    ok = adb_server.run("-s", phone.address, "shell", "getprop ro.product.model; echo status=$?")
    assert ok.returncode == 0
    assert ok.stdout == f"{phone.state.identity.model}\nstatus=0\n"
    missing = adb_server.run("-s", phone.address, "shell", "ls /sdcard/nope")
    assert missing.returncode == 1
    assert missing.stderr == "ls: /sdcard/nope: No such file or directory\n"
    assert adb_server.run("-s", phone.address, "shell", "exit 7").returncode == 7


def test_push_then_pull_round_trips_bytes(adb_server: AdbServer, device, phone: SimulatedPhone,
                                          tmp_path: Path) -> None:
    payload = bytes(range(256)) * 1200 + "尾巴".encode()
    src = tmp_path / "in.bin"
    src.write_bytes(payload)
    pushed = adb_server.run("-s", phone.address, "push", str(src), "/sdcard/Download/in.bin")
    assert pushed.returncode == 0, pushed.stderr
    assert phone.core.fs.read_bytes("/sdcard/Download/in.bin") == payload
    back = tmp_path / "back.bin"
    pulled = adb_server.run("-s", phone.address, "pull", "/sdcard/Download/in.bin", str(back))
    assert pulled.returncode == 0, pulled.stderr
    assert back.read_bytes() == payload


def test_pull_of_the_recordings_folder_brings_every_recording(adb_server: AdbServer, device,
                                                              phone: SimulatedPhone, tmp_path: Path) -> None:
    folder = "/sdcard/MIUI/sound_recorder/call_rec"
    pulled = adb_server.run("-s", phone.address, "pull", folder, str(tmp_path))
    assert pulled.returncode == 0, pulled.stderr
    local = sorted((tmp_path / "call_rec").iterdir())
    remote = phone.core.fs.listdir(folder)
    assert [p.name for p in local] == [e.path.rsplit("/", 1)[-1] for e in remote]
    for path in local:
        expected = phone.core.fs.read_bytes(f"{folder}/{path.name}")
        assert hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(expected).digest()


def test_push_outside_writable_storage_is_refused(adb_server: AdbServer, device, phone: SimulatedPhone,
                                                  tmp_path: Path) -> None:
    src = tmp_path / "x.txt"
    src.write_text("x")
    result = adb_server.run("-s", phone.address, "push", str(src), "/system/x.txt")
    assert result.returncode != 0
    assert "Read-only file system" in result.stdout + result.stderr
