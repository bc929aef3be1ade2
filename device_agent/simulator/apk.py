"""APK files the simulated package manager can install.

`make_apk` writes a zip holding a plain-text AndroidManifest.xml; `read_apk`
reads such a manifest. Real APKs carry a binary manifest, which this simulator
does not decode: `pm install` refuses them as a phone refuses a corrupt APK.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from xml.etree import ElementTree

ANDROID_NS = "{http://schemas.android.com/apk/res/android}"


class ApkError(ValueError):
    """The file is not an APK this simulator can read."""


@dataclass(frozen=True)
class ApkInfo:
    package: str
    version_name: str
    version_code: int
    label: str
    permissions: tuple[str, ...]
    launcher_activity: str | None


def make_apk(package: str, *, label: str | None = None, version_name: str = "1.0", version_code: int = 1,
             permissions: tuple[str, ...] = (), launcher_activity: str | None = ".MainActivity") -> bytes:
    """Bytes of an installable APK for the simulated phone."""
    manifest = ElementTree.Element("manifest", {"package": package, "android:versionName": version_name,
                                                "android:versionCode": str(version_code),
                                                "xmlns:android": ANDROID_NS[1:-1]})
    for permission in permissions:
        ElementTree.SubElement(manifest, "uses-permission", {"android:name": permission})
    application = ElementTree.SubElement(manifest, "application", {"android:label": label or package})
    if launcher_activity:
        activity = ElementTree.SubElement(application, "activity", {"android:name": launcher_activity})
        intent_filter = ElementTree.SubElement(activity, "intent-filter")
        ElementTree.SubElement(intent_filter, "action", {"android:name": "android.intent.action.MAIN"})
        ElementTree.SubElement(intent_filter, "category", {"android:name": "android.intent.category.LAUNCHER"})
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as apk:
        apk.writestr("AndroidManifest.xml", ElementTree.tostring(manifest, encoding="unicode"))
        apk.writestr("classes.dex", b"dex\n035\0")
    return out.getvalue()


def read_apk(data: bytes) -> ApkInfo:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as apk:
            manifest_bytes = apk.read("AndroidManifest.xml")
    except (zipfile.BadZipFile, KeyError) as exc:
        raise ApkError("not an APK (no AndroidManifest.xml in a zip)") from exc
    try:
        root = ElementTree.fromstring(manifest_bytes)
    except ElementTree.ParseError as exc:
        raise ApkError("AndroidManifest.xml is not a readable manifest") from exc
    package = root.get("package")
    if not package:
        raise ApkError("manifest has no package name")
    application = root.find("application")
    launcher = None
    if application is not None:
        for activity in application.findall("activity"):
            categories = {c.get(ANDROID_NS + "name") for c in activity.iter("category")}
            if "android.intent.category.LAUNCHER" in categories:
                launcher = activity.get(ANDROID_NS + "name")
                break
    try:
        version_code = int(root.get(ANDROID_NS + "versionCode", "1"))
    except ValueError as exc:
        raise ApkError("versionCode is not a number") from exc
    return ApkInfo(
        package=package, version_name=root.get(ANDROID_NS + "versionName", "1.0"), version_code=version_code,
        label=(application.get(ANDROID_NS + "label") if application is not None else None) or package,
        permissions=tuple(p.get(ANDROID_NS + "name", "") for p in root.findall("uses-permission")),
        launcher_activity=launcher)
