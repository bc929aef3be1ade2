"""Runtime-permission rules shared by `pm grant/revoke/install -g` and the permission screens."""

from __future__ import annotations

from .state import Package

FINE = "android.permission.ACCESS_FINE_LOCATION"
COARSE = "android.permission.ACCESS_COARSE_LOCATION"
BACKGROUND = "android.permission.ACCESS_BACKGROUND_LOCATION"

RUNTIME = frozenset({
    FINE, COARSE, BACKGROUND, "android.permission.READ_PHONE_STATE", "android.permission.READ_SMS",
    "android.permission.RECEIVE_SMS", "android.permission.SEND_SMS", "android.permission.READ_CALL_LOG",
    "android.permission.WRITE_CALL_LOG", "android.permission.READ_CONTACTS", "android.permission.WRITE_CONTACTS",
    "android.permission.RECORD_AUDIO", "android.permission.CAMERA", "android.permission.CALL_PHONE",
    "android.permission.READ_EXTERNAL_STORAGE", "android.permission.WRITE_EXTERNAL_STORAGE",
    "android.permission.ACTIVITY_RECOGNITION", "android.permission.ACCESS_MEDIA_LOCATION",
    "android.permission.POST_NOTIFICATIONS", "android.permission.GET_ACCOUNTS",
})


def is_runtime(permission: str, sdk: int) -> bool:
    if permission == BACKGROUND and sdk < 29:
        return False
    if permission == "android.permission.POST_NOTIFICATIONS" and sdk < 33:
        return False
    return permission in RUNTIME


def set_granted(package: Package, permissions: list[str], granted: bool) -> None:
    for permission in permissions:
        if granted and permission not in package.granted_permissions and permission in package.requested_permissions:
            package.granted_permissions.append(permission)
        elif not granted and permission in package.granted_permissions:
            package.granted_permissions.remove(permission)


def is_granted(package: Package, permission: str, sdk: int) -> bool:
    """Install-time permissions are granted as soon as they are requested."""
    if permission not in package.requested_permissions:
        return False
    return permission in package.granted_permissions or not is_runtime(permission, sdk)
