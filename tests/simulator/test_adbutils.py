"""adbutils against a simulated phone through the real adb server."""

from __future__ import annotations

import stat
from pathlib import Path

import adbutils
import pytest

from device_agent.simulator import SimulatedPhone


def test_shell_and_getprop(device: adbutils.AdbDevice, phone: SimulatedPhone) -> None:
    ident = phone.state.identity
    assert device.shell("echo hello") == "hello"
    assert device.getprop("ro.serialno") == ident.serial
    assert device.prop.model == ident.model
    assert device.getprop("ro.build.version.sdk") == str(ident.sdk)


def test_shell2_v1_learns_the_exit_code(device: adbutils.AdbDevice) -> None:
    result = device.shell2("echo out; ls /nope")
    assert result.returncode == 1
    assert result.output == "out\nls: /nope: No such file or directory\n"


def test_shell2_v2_separates_stdout_and_stderr(device: adbutils.AdbDevice) -> None:
    result = device.shell2("echo out; ls /nope; exit 3", v2=True)
    assert result.returncode == 3
    assert result.stdout == "out\n"
    assert result.stderr == "ls: /nope: No such file or directory\n"


def test_sync_list_reports_files_and_directories(device: adbutils.AdbDevice, phone: SimulatedPhone) -> None:
    entries = {e.path: e for e in device.sync.list("/sdcard/MIUI/sound_recorder/call_rec")}
    assert {".", ".."} <= set(entries)
    recordings = [e for name, e in entries.items() if name.endswith(".mp3")]
    assert len(recordings) == len([c for c in phone.state.calls if c["duration"]])
    assert all(stat.S_ISREG(e.mode) and e.size > 1000 for e in recordings)
    assert stat.S_ISDIR(entries["."].mode)


def test_sync_push_pull_and_stat(device: adbutils.AdbDevice, phone: SimulatedPhone, tmp_path: Path) -> None:
    data = b"fieldcrm" * 20000
    assert device.sync.push(data, "/data/local/tmp/blob.bin", check=True) == len(data)
    info = device.sync.stat("/data/local/tmp/blob.bin")
    assert info.size == len(data)
    assert device.sync.read_bytes("/data/local/tmp/blob.bin") == data
    device.sync.pull("/data/local/tmp/blob.bin", tmp_path / "blob.bin")
    assert (tmp_path / "blob.bin").read_bytes() == data
    assert not device.sync.exists("/data/local/tmp/missing.bin")


def test_pull_of_a_missing_file_fails_like_adbd(device: adbutils.AdbDevice) -> None:
    with pytest.raises(adbutils.AdbError, match="No such file or directory"):
        device.sync.read_bytes("/sdcard/missing.mp3")


def test_unknown_services_are_refused(device: adbutils.AdbDevice) -> None:
    with pytest.raises(adbutils.AdbError):
        device.create_connection(adbutils.Network.LOCAL_ABSTRACT, "nothing-here")
    with pytest.raises(adbutils.AdbError):
        device.create_connection(adbutils.Network.TCP, 9008)  # no uiautomator server launched yet
