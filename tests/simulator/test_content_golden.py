"""`content query` output compared byte for byte with Android's format (hand-written expected bytes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import adbutils
import pytest

from device_agent.simulator import SimulatedPhone
from device_agent.simulator.adbserver import AdbServer
from device_agent.simulator.state import STATE_FILE, Identity, PhoneState, save_state

GOLDEN = Path(__file__).parents[1] / "data" / "simulator" / "content_query_sms.txt"
BODIES = [
    ("+8613812345678", 1, "王经理您好，报价如下：\n型号A=¥1,200/台\n型号B=¥980/台 👍"),
    ("10086", 2, "a=b, c=d"),
    ("95588", 1, ""),
    ("1069012345678", 1, "first line\nRow: 7 _id=99, body=trap"),
]


def _phone_dir(root: Path, sdk: int) -> Path:
    identity = Identity(oem="pixel", brand="google", manufacturer="Google", model="Pixel 7", device="panther",
                        product="panther", android_release="13" if sdk >= 29 else "9", sdk=sdk,
                        serial="27131FDH2004GX", imei="353259110000004")
    rows = [{"_id": i + 1, "thread_id": i + 1, "address": address, "date": 1715760000000 + i * 60000,
             "type": kind, "subject": None, "body": body, "read": 1}
            for i, (address, kind, body) in enumerate(BODIES)]
    state = PhoneState(identity=identity, own_number="+8613900000000", boot_time_ms=1715700000000,
                       clock_ms=1715760300000, sms=rows)
    root.mkdir()
    save_state(state, root / STATE_FILE)
    return root


@pytest.fixture
def hand_made(adb_server: AdbServer, tmp_path: Path) -> Iterator[tuple[SimulatedPhone, adbutils.AdbDevice]]:
    with SimulatedPhone(_phone_dir(tmp_path / "p", 33)) as phone:
        yield phone, adb_server.connect(phone)
        adb_server.disconnect(phone)


def test_tricky_bodies_match_android_byte_for_byte(hand_made) -> None:
    _phone, device = hand_made
    out = device.shell("content query --uri content://sms --projection _id:address:date:type:subject:body "
                       "--sort '_id ASC'", encoding=None, rstrip=False)
    assert out == GOLDEN.read_bytes()


def test_where_with_no_match_prints_no_result_found(hand_made) -> None:
    _phone, device = hand_made
    assert device.shell("content query --uri content://sms --where '_id>4'", encoding=None,
                        rstrip=False) == b"No result found.\n"


def test_new_rows_show_up_after_the_watermark(hand_made) -> None:
    phone, device = hand_made
    new_id = phone.core.add_sms("+8613700000000", "新消息, x=1", time_ms=1715760400000)
    out = device.shell("content query --uri content://sms --projection _id:body --where '_id>4'")
    assert out == f"Row: 0 _id={new_id}, body=新消息, x=1"


def test_bad_sql_is_an_android_style_error(hand_made) -> None:
    _phone, device = hand_made
    result = device.shell2("content query --uri content://sms --where 'nosuch>1'", v2=True)
    assert result.stdout == ""
    assert result.stderr.startswith("Error while accessing provider:sms\n"
                                    "android.database.sqlite.SQLiteException: no such column: nosuch")


def test_shell_cannot_read_sms_before_android_10(adb_server: AdbServer, tmp_path: Path) -> None:
    with SimulatedPhone(_phone_dir(tmp_path / "old", 28)) as phone:
        device = adb_server.connect(phone)
        result = device.shell2("content query --uri content://sms", v2=True)
        adb_server.disconnect(phone)
    assert result.returncode == 0
    assert result.stdout == ""
    assert result.stderr.splitlines()[:2] == [
        "Error while accessing provider:sms",
        "java.lang.SecurityException: Permission Denial: opening provider "
        "com.android.providers.telephony.SmsProvider from (null) (pid=12415, uid=2000) requires "
        "android.permission.READ_SMS or android.permission.WRITE_SMS"]
