"""What ``dumpsys package <pkg>`` and ``cmd deviceidle whitelist`` say about the tracker app."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_GRANT = re.compile(r"^\s+([\w.]+): granted=(true|false)")


@dataclass(frozen=True)
class PackageInfo:
    installed: bool
    version_code: int | None = None
    first_install: str = ""
    requested: frozenset[str] = field(default_factory=frozenset)
    runtime: dict[str, bool] = field(default_factory=dict)

    def granted(self, permission: str) -> bool:
        """Requested and granted (install-time permissions count as granted)."""
        if permission not in self.requested:
            return False
        return self.runtime.get(permission, True)


def parse_package(text: str) -> PackageInfo:
    if "Unable to find package" in text or "Package [" not in text:
        return PackageInfo(installed=False)
    version = re.search(r"versionCode=(\d+)", text)
    first = re.search(r"firstInstallTime=(.+)", text)
    requested: set[str] = set()
    runtime: dict[str, bool] = {}
    section = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.endswith("permissions:"):
            section = stripped
            continue
        if section == "requested permissions:" and re.fullmatch(r"[\w.]+", stripped):
            requested.add(stripped)
        elif section == "runtime permissions:" and (m := _GRANT.match(line)):
            runtime[m.group(1)] = m.group(2) == "true"
    return PackageInfo(
        installed=True,
        version_code=int(version.group(1)) if version else None,
        first_install=first.group(1).strip() if first else "",
        requested=frozenset(requested),
        runtime=runtime,
    )


def whitelisted(text: str, package: str) -> bool:
    """``cmd deviceidle whitelist`` lines are ``<kind>,<package>,<uid>``."""
    return any(line.split(",")[1:2] == [package] for line in text.splitlines())
