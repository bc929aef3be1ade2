"""Faults switched on from Python: unauthorized, dropped link mid-transfer, slow link, full storage,
a provider that errors."""

from __future__ import annotations

from pathlib import Path

import adbutils
import pytest

from device_agent.simulator import SimulatedPhone
from device_agent.simulator.adbserver import AdbServer

RECORDINGS = "/sdcard/MIUI/sound_recorder/call_rec"


def test_unauthorized_until_accepted(adb_server: AdbServer, phone: SimulatedPhone) -> None:
    phone.require_auth()
    adb_server.run("connect", phone.address)
    adb_server.wait_for(phone.address, "unauthorized")
    with pytest.raises(adbutils.AdbError):
        adb_server.client.device(phone.address).shell("echo hi")
    phone.accept_auth()
    adb_server.wait_for(phone.address, "device")
    assert adb_server.client.device(phone.address).shell("echo hi") == "hi"
    adb_server.disconnect(phone)


def test_disconnect_in_the_middle_of_a_pull_then_recover(adb_server: AdbServer, device: adbutils.AdbDevice,
                                                          phone: SimulatedPhone, tmp_path: Path) -> None:
    big = bytes(range(256)) * 4096 * 3  # 3 MiB: several packets
    phone.core.fs.write_bytes("/sdcard/Download/big.bin", big)
    phone.faults.disconnect_after_bytes = 1_500_000
    result = adb_server.run("-s", phone.address, "pull", "/sdcard/Download/big.bin", str(tmp_path / "big.bin"))
    assert result.returncode != 0
    assert phone.faults.disconnect_after_bytes is None  # the fault fired once
    adb_server.run("connect", phone.address)
    adb_server.wait_for(phone.address, "device")
    again = adb_server.run("-s", phone.address, "pull", "/sdcard/Download/big.bin", str(tmp_path / "big.bin"))
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "big.bin").read_bytes() == big


def test_slow_link_still_delivers_intact_data(device: adbutils.AdbDevice, phone: SimulatedPhone) -> None:
    name = phone.core.fs.listdir(RECORDINGS)[0].path
    phone.faults.link_rate = 400_000
    assert device.sync.read_bytes(name) == phone.core.fs.read_bytes(name)
    phone.faults.link_rate = None


def test_storage_full_fails_the_push_and_leaves_no_file(adb_server: AdbServer, device: adbutils.AdbDevice,
                                                        phone: SimulatedPhone, tmp_path: Path) -> None:
    src = tmp_path / "tracker.apk"
    src.write_bytes(b"x" * 200_000)
    phone.faults.storage_free_bytes = 100_000
    result = adb_server.run("-s", phone.address, "push", str(src), "/sdcard/Download/tracker.apk")
    assert result.returncode != 0
    assert "No space left on device" in result.stdout + result.stderr
    assert "tracker.apk" not in device.shell("ls /sdcard/Download")
    assert device.shell("df /sdcard").splitlines()[1].split()[3] == str(100_000 // 1024)
    phone.faults.storage_free_bytes = None
    assert adb_server.run("-s", phone.address, "push", str(src), "/sdcard/Download/tracker.apk").returncode == 0


def test_provider_error_prints_like_android(device: adbutils.AdbDevice, phone: SimulatedPhone) -> None:
    phone.faults.provider_errors["call_log"] = "android.database.sqlite.SQLiteDiskIOException: disk I/O error"
    result = device.shell2("content query --uri content://call_log/calls", v2=True)
    assert result.returncode == 0
    assert result.stdout == ""
    assert result.stderr.startswith("Error while accessing provider:call_log\n"
                                    "android.database.sqlite.SQLiteDiskIOException: disk I/O error\n\tat ")
    phone.faults.clear()
    assert device.shell("content query --uri content://call_log/calls --projection _id").startswith("Row: 0 _id=")
