"""Consents that only the phone's screen can give, done with uiautomator2.

Button texts differ by Android version and language; each action tries the known
English and Chinese labels in order.
"""

from __future__ import annotations

import re

import adbutils
import uiautomator2 as u2

from device_agent.errors import DeviceGone

ALLOW_ALWAYS = ("Allow all the time", "始终允许", "一律允许", "Always allow")
ALLOW = (
    *ALLOW_ALWAYS,
    "While using the app",
    "Allow only while using the app",
    "仅在使用该应用期间允许",
    "仅使用期间允许",
    "Allow",
    "ALLOW",
    "允许",
)
PERMISSIONS = ("Permissions", "权限", "App permissions", "应用权限")
LOCATION = ("Location", "位置信息", "定位")
SAVE = ("Save", "保存")
DIALOG_PACKAGES = ("com.android.permissioncontroller", "com.android.packageinstaller", "com.google.android.permissioncontroller")


class Screen:
    """The phone's screen through uiautomator2 (started on first use)."""

    def __init__(self, device: adbutils.AdbDevice) -> None:
        self._adb = device
        self._ui: u2.Device | None = None

    @property
    def ui(self) -> u2.Device:
        if self._ui is None:
            try:
                self._ui = u2.Device(self._adb)
                self._ui.info  # noqa: B018 - starts the on-phone server and checks it answers
            except Exception as exc:  # uiautomator2 raises many unrelated types when the link breaks
                raise DeviceGone(f"cannot drive the phone's screen: {exc}") from exc
        return self._ui

    def tap_first(self, labels: tuple[str, ...], timeout: float = 3.0) -> str | None:
        """Wait up to ``timeout`` for any of ``labels``, tap the earliest-listed one on screen; returns it."""
        shown = self.ui(textMatches="|".join(re.escape(label) for label in labels))
        if not shown.exists(timeout=timeout):
            return None
        present = {element.info.get("text") for element in shown}
        label = next((label for label in labels if label in present), None)
        if label is None:
            return None
        self.ui(text=label).click()
        return label

    def in_permission_dialog(self) -> bool:
        return self.ui.info.get("currentPackageName") in DIALOG_PACKAGES

    def answer_permission_dialogs(self, rounds: int = 4) -> list[str]:
        """Tap 'Allow' (the widest choice offered) on permission dialogs as they come."""
        tapped: list[str] = []
        for _ in range(rounds):
            if not self.in_permission_dialog():
                break
            label = self.tap_first(ALLOW, timeout=1.0)
            if label is None:
                break
            tapped.append(label)
            if label in ALLOW_ALWAYS:  # nothing wider to grant: a page with radio buttons stays open
                break
        return tapped

    def allow_background_location(self) -> bool:
        """App info → Permissions → (Location) → 'Allow all the time'; True when it was tapped."""
        if self.tap_first(PERMISSIONS) is None:
            return False
        if self.tap_first(ALLOW_ALWAYS, timeout=2.0):
            return True
        return self.tap_first(LOCATION) is not None and self.tap_first(ALLOW_ALWAYS) is not None

    def home(self) -> None:
        self.ui.press("home")
