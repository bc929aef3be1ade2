"""uiautomator2 driving the simulated screens: the provisioning dialogs change state only when tapped right."""

from __future__ import annotations

import base64
import json

import adbutils
import pytest
import uiautomator2 as u2

from device_agent.simulator import SimulatedPhone, make_apk
from device_agent.simulator.adbserver import AdbServer

OWNTRACKS = "org.owntracks.android"
LOCATION = ("android.permission.ACCESS_FINE_LOCATION", "android.permission.ACCESS_COARSE_LOCATION",
            "android.permission.ACCESS_BACKGROUND_LOCATION", "android.permission.INTERNET")


@pytest.fixture
def d(device: adbutils.AdbDevice, adb_server: AdbServer, phone: SimulatedPhone, tmp_path) -> u2.Device:
    apk = tmp_path / "owntracks.apk"
    apk.write_bytes(make_apk(OWNTRACKS, label="OwnTracks", version_name="2.4.12", permissions=LOCATION))
    assert adb_server.run("-s", phone.address, "install", str(apk)).returncode == 0
    return u2.connect(device)


def _granted(phone: SimulatedPhone, permission: str) -> bool:
    return f"android.permission.{permission}" in phone.state.packages[OWNTRACKS].granted_permissions


def test_connect_info_and_device_info(d: u2.Device, phone: SimulatedPhone) -> None:
    ident = phone.state.identity
    assert d.info["sdkInt"] == ident.sdk
    assert d.info["currentPackageName"] == "com.android.launcher3"
    assert d.device_info == {"serial": ident.serial, "sdk": ident.sdk, "brand": ident.brand, "model": ident.model,
                             "arch": "arm64-v8a", "version": int(ident.android_release)}
    assert phone.core.fs.stat("/data/local/tmp/u2.jar").size > 0


def test_permission_dialog_then_allow_all_the_time(d: u2.Device, phone: SimulatedPhone) -> None:
    d.app_start(OWNTRACKS)
    xml = d.dump_hierarchy()
    assert "access this device&apos;s location" in xml or "access this device's location" in xml
    d(text="Don't allow").wait()
    d.click(5, 5)  # the status bar: nothing happens
    assert not _granted(phone, "ACCESS_FINE_LOCATION")
    d(text="While using the app").click()
    assert _granted(phone, "ACCESS_FINE_LOCATION")
    assert not _granted(phone, "ACCESS_BACKGROUND_LOCATION")
    d(text="Allow all the time").click()
    assert _granted(phone, "ACCESS_BACKGROUND_LOCATION")
    assert d(text="Allow all the time").info["checked"] is True


def test_battery_optimisation_dialog(d: u2.Device, device: adbutils.AdbDevice, phone: SimulatedPhone) -> None:
    device.shell(f"am start -a android.settings.REQUEST_IGNORE_BATTERY_OPTIMIZATIONS -d package:{OWNTRACKS}")
    assert d(text="Let app always run in background?").exists
    d(text="Allow").click()
    assert OWNTRACKS in phone.state.deviceidle_whitelist
    assert OWNTRACKS in device.shell("cmd deviceidle whitelist")


def test_owntracks_config_preview_is_saved_only_by_save(d: u2.Device, device: adbutils.AdbDevice,
                                                        phone: SimulatedPhone) -> None:
    config = {"_type": "configuration", "mode": 3, "url": "https://crm.example/owntracks", "auth": True,
              "username": "rep7", "password": "s3cret", "deviceId": "p7", "tid": "P7"}
    inline = base64.b64encode(json.dumps(config).encode()).decode()
    device.shell(["am", "start", "-a", "android.intent.action.VIEW", "-d", f"owntracks:///config?inline={inline}"])
    assert d(resourceId=f"{OWNTRACKS}:id/effectiveConfiguration").get_text().count("crm.example") == 1
    d(text="Import configuration").click()  # a label, not a button
    assert phone.state.packages[OWNTRACKS].config is None
    d(text="Save").click()
    assert phone.state.packages[OWNTRACKS].config == config
    assert not d(text="Save").exists


def test_set_text_and_clear(d: u2.Device) -> None:
    field = d(resourceId="com.android.launcher3:id/search_box_input")
    field.set_text("客户 A")
    assert 'text="客户 A"' in d.dump_hierarchy()
    field.clear_text()
    assert field.get_text() == ""


def test_missing_element_raises_ui_object_not_found(d: u2.Device) -> None:
    with pytest.raises(u2.UiObjectNotFoundError):
        d(text="No such button").click(timeout=0.2)


def test_screenshot_is_an_image(d: u2.Device) -> None:
    image = d.screenshot()
    assert image.size == (540, 1200)
