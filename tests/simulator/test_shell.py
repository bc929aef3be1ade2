"""The phone's shell answers like Android, through adbutils and the real adb server."""

from __future__ import annotations

import hashlib
import re
import subprocess

import adbutils

from device_agent.simulator import SimulatedPhone, make_apk
from device_agent.simulator.adbserver import AdbServer

PKG = "org.owntracks.android"
FINE = "android.permission.ACCESS_FINE_LOCATION"


def _install(device: adbutils.AdbDevice, *permissions: str) -> str:
    device.sync.push(make_apk(PKG, label="OwnTracks", permissions=permissions), "/data/local/tmp/ot.apk")
    return device.shell("pm install -r -t /data/local/tmp/ot.apk")


def test_getprop_all_uses_brackets(device: adbutils.AdbDevice, phone: SimulatedPhone) -> None:
    lines = device.shell("getprop").splitlines()
    assert f"[ro.serialno]: [{phone.state.identity.serial}]" in lines
    assert all(re.fullmatch(r"\[[\w.]+\]: \[.*\]", line) for line in lines)
    assert device.shell("getprop no.such.prop") == ""


def test_sequences_status_and_files(device: adbutils.AdbDevice, phone: SimulatedPhone) -> None:
    assert device.shell("false; echo $?; true && echo yes || echo no") == "1\nyes"
    folder = "/sdcard/MIUI/sound_recorder/call_rec"
    names = device.shell(f"ls {folder}").splitlines()
    assert names and all(n.endswith(".mp3") and "@" in n for n in names)
    long = device.shell(f"ls -l '{folder}'").splitlines()
    assert long[0].startswith("total ")
    assert re.match(r"-rw-rw---- 1 u0_a150 media_rw +\d+ \d{4}-\d\d-\d\d \d\d:\d\d ", long[1])
    path = f"{folder}/{names[0]}"
    data = phone.core.fs.read_bytes(path)
    assert device.shell(["toybox", "md5sum", path]) == f"{hashlib.md5(data).hexdigest()}  {path}"
    assert device.shell(["stat", "-c", "%s", path]) == str(len(data))
    assert "regular file" in device.shell(["stat", path])


def test_dumpsys_location_format_follows_the_android_version(device: adbutils.AdbDevice,
                                                             phone: SimulatedPhone) -> None:
    modern = device.shell("dumpsys location")
    assert re.search(r"  gps provider:\n    last location=Location\[gps \d+\.\d{6},\d+\.\d{6} hAcc=[\d.]+ "
                     r"et=\+\d+d\d+h\d+m\d+s\d+ms", modern)
    phone.state.identity.sdk = 29
    old = device.shell("dumpsys location")
    assert "  Last Known Locations:\n" in old
    assert re.search(r"    gps: Location\[gps \d+\.\d{6},\d+\.\d{6} hAcc=\d+ et=\+", old)


def test_dumpsys_battery(device: adbutils.AdbDevice, phone: SimulatedPhone) -> None:
    out = device.shell("dumpsys battery")
    assert out.startswith("Current Battery Service state:\n  AC powered: ")
    assert f"  level: {phone.state.battery.level}\n" in out
    assert re.search(r"  temperature: \d+\n", out)


def test_pm_install_grant_revoke_and_dumpsys_package(device: adbutils.AdbDevice, phone: SimulatedPhone) -> None:
    assert _install(device, FINE, "android.permission.INTERNET") == "Success"
    assert f"package:{PKG}" in device.shell("pm list packages -3").splitlines()
    assert device.shell(f"pm path {PKG}").startswith("package:/data/app/")
    assert f"{FINE}: granted=false" in device.shell(f"dumpsys package {PKG}")
    assert device.shell2(f"pm grant {PKG} {FINE}").returncode == 0
    assert f"{FINE}: granted=true" in device.shell(f"dumpsys package {PKG}")
    device.shell(f"pm revoke {PKG} {FINE}")
    assert f"{FINE}: granted=false" in device.shell(f"dumpsys package {PKG}")
    bad = device.shell2(f"pm grant {PKG} android.permission.READ_SMS", v2=True)
    assert bad.returncode == 255
    assert "has not requested permission android.permission.READ_SMS" in bad.stderr
    unknown = device.shell2("pm grant com.nope android.permission.CAMERA", v2=True)
    assert "java.lang.IllegalArgumentException: Unknown package: com.nope" in unknown.stderr


def test_background_location_cannot_be_granted_from_the_shell_on_android_11(device: adbutils.AdbDevice,
                                                                             phone: SimulatedPhone) -> None:
    background = "android.permission.ACCESS_BACKGROUND_LOCATION"
    _install(device, FINE, background)
    result = device.shell2(f"pm grant {PKG} {background}", v2=True)
    assert result.returncode == 255
    assert "GRANT_RUNTIME_PERMISSIONS" in result.stderr
    assert background not in phone.state.packages[PKG].granted_permissions


def test_appops_settings_deviceidle(device: adbutils.AdbDevice, phone: SimulatedPhone) -> None:
    _install(device, FINE)
    assert device.shell(f"appops set {PKG} RUN_ANY_IN_BACKGROUND allow") == ""
    assert device.shell(f"appops get {PKG} RUN_ANY_IN_BACKGROUND") == "RUN_ANY_IN_BACKGROUND: allow"
    assert device.shell("settings get global stay_on_while_plugged_in") == "0"
    device.shell("settings put global stay_on_while_plugged_in 3")
    assert device.shell("settings get global stay_on_while_plugged_in") == "3"
    assert device.shell("settings get secure no_such_key") == "null"
    assert device.shell(f"cmd deviceidle whitelist +{PKG}") == f"Added: {PKG}"
    assert f"user,{PKG}," in device.shell("cmd deviceidle whitelist")
    assert device.shell("cmd deviceidle whitelist +com.nope") == "Package not found: com.nope"


def test_dpm_set_device_owner_refuses_when_accounts_exist(device: adbutils.AdbDevice, phone: SimulatedPhone) -> None:
    _install(device, FINE)
    phone.state.accounts = ["com.xiaomi"]
    refused = device.shell2(f"dpm set-device-owner {PKG}/.Admin", v2=True)
    assert refused.returncode == 255
    assert "already some accounts on the device" in refused.stderr
    phone.state.accounts = []
    ok = device.shell(f"dpm set-device-owner {PKG}/.Admin")
    assert ok.startswith(f"Success: Device owner set to package ComponentInfo{{{PKG}/{PKG}.Admin}}")
    assert phone.state.device_owner == f"{PKG}/{PKG}.Admin"


def test_am_start_and_monkey(device: adbutils.AdbDevice, phone: SimulatedPhone) -> None:
    unresolved = device.shell2("am start -a android.intent.action.VIEW -d owntracks:///config?inline=e30=", v2=True)
    assert "unable to resolve Intent" in unresolved.stderr
    assert "No activities found" in device.shell("monkey -p com.nope -c android.intent.category.LAUNCHER 1")
    _install(device, "android.permission.INTERNET")
    assert "Events injected: 1" in device.shell(f"monkey -p {PKG} -c android.intent.category.LAUNCHER 1")
    assert phone.ui.current_package() == PKG


def test_unknown_command_and_syntax_error(device: adbutils.AdbDevice) -> None:
    missing = device.shell2("frobnicate", v2=True)
    assert (missing.returncode, missing.stderr) == (127, "/system/bin/sh: frobnicate: inaccessible or not found\n")
    broken = device.shell2("echo 'unterminated", v2=True)
    assert broken.returncode != 0
    assert "no closing quote" in broken.stderr


def test_contacts_and_call_log_queries(device: adbutils.AdbDevice, phone: SimulatedPhone) -> None:
    phones = device.shell("content query --uri content://com.android.contacts/data/phones "
                          "--projection contact_id:display_name:data1").splitlines()
    numbers = [n for c in phone.state.contacts for n in c["numbers"]]  # type: ignore[union-attr]
    assert len(phones) == len(numbers)
    assert all(re.fullmatch(r"Row: \d+ contact_id=\d+, display_name=.+, data1=.+", line) for line in phones)
    calls = sorted(int(c["date"]) for c in phone.state.calls)  # type: ignore[arg-type]
    middle = calls[len(calls) // 2]
    newer = device.shell(f"content query --uri content://call_log/calls --projection _id:date "
                         f"--where 'date>{middle}' --sort 'date ASC'").splitlines()
    assert [int(line.rsplit("date=", 1)[1]) for line in newer] == [d for d in calls if d > middle]


def test_deleted_contacts_are_logged_from_android_4_3_on(device: adbutils.AdbDevice, phone: SimulatedPhone) -> None:
    query = "content query --uri content://com.android.contacts/deleted_contacts --sort 'contact_deleted_timestamp ASC'"
    assert "Row:" not in device.shell(query)
    gone = int(phone.state.contacts[0]["_id"])  # type: ignore[arg-type]
    phone.core.delete_contact(gone)
    assert device.shell(query).splitlines() == [
        f"Row: 0 contact_id={gone}, contact_deleted_timestamp={phone.state.clock_ms}"
    ]
    listed = device.shell("content query --uri content://com.android.contacts/contacts --projection _id")
    assert gone not in [int(line.rsplit("=", 1)[1]) for line in listed.splitlines()]
    assert phone.core.put_contact("新", []) > gone  # ids are never reused
    phone.state.identity.sdk = 17
    old = device.shell2(query, v2=True)
    assert "Unknown URL content://com.android.contacts/deleted_contacts" in old.stdout + old.stderr


def test_piped_interactive_shell(adb_server: AdbServer, device: adbutils.AdbDevice, phone: SimulatedPhone) -> None:
    result = subprocess.run([adb_server.binary, "-P", str(adb_server.port), "-s", phone.address, "shell"],
                            input="getprop ro.serialno\nfalse\necho $?\nexit 4\n", capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 4
    assert result.stdout == f"{phone.serial}\n1\n"
