"""`dumpsys` output in Android's formats: location (pre-11 and 11+), battery, package, deviceidle."""

from __future__ import annotations

import zlib
from datetime import datetime
from zoneinfo import ZoneInfo

from .permissions import is_granted, is_runtime
from .state import Fix, PhoneState

SYSTEM_IDLE_WHITELIST = ("com.android.providers.downloads", "com.android.shell", "com.android.phone")


def app_uid(name: str) -> int:
    return 10000 + zlib.crc32(name.encode()) % 500


def format_duration(ms: int) -> str:
    """android.util.TimeUtils.formatDuration: +1d2h3m4s5ms, zero fields after the first kept."""
    if ms == 0:
        return "0"
    sign = "+" if ms > 0 else "-"
    ms = abs(ms)
    parts = [(ms // 86_400_000, "d"), (ms // 3_600_000 % 24, "h"), (ms // 60_000 % 60, "m"), (ms // 1000 % 60, "s")]
    out = sign
    started = False
    for amount, unit in parts:
        if amount or started:
            out += f"{amount}{unit}"
            started = True
    return out + f"{ms % 1000}ms"


def _location_string(fix: Fix, boot_ms: int, sdk: int) -> str:
    """android.location.Location.toString(): Android 12+ prints float accuracies and no Bundle."""
    modern = sdk >= 31
    accuracy = float(fix.accuracy) if modern else f"{fix.accuracy:.0f}"
    parts = [f"Location[{fix.provider} {fix.lat:.6f},{fix.lon:.6f} hAcc={accuracy} "
             f"et={format_duration(fix.time_ms - boot_ms)}"]
    for key, value, value_accuracy in (("alt", fix.altitude, "vAcc=3.0"), ("vel", fix.speed, "sAcc=0.5"),
                                       ("bear", fix.bearing, "bAcc=15.0")):
        if value is not None:
            parts.append(f"{key}={float(value)}" + (f" {value_accuracy}" if modern else ""))
    if not modern:
        parts.append(("vAcc=3" if fix.altitude is not None else "vAcc=???") + " sAcc=??? bAcc=???")
    if fix.mock:
        parts.append("mock")
    return " ".join(parts) + ("]" if modern else " {Bundle[mParcelledData.dataSize=96]}]")


def last_by_provider(state: PhoneState) -> dict[str, Fix]:
    last: dict[str, Fix] = {}
    for fix in state.fixes:
        if fix.time_ms <= state.clock_ms and (fix.provider not in last or fix.time_ms >= last[fix.provider].time_ms):
            last[fix.provider] = fix
    return last


def location(state: PhoneState) -> str:
    sdk = state.identity.sdk
    boot = state.boot_time_ms
    last = last_by_provider(state)
    newest = max(last.values(), key=lambda f: f.time_ms, default=None)
    lines = ["Location Manager State:"]
    if sdk <= 29:
        lines += ["  Location Listeners:", "  Active Records by Provider:", "  Historical Records by Provider:",
                  "  Last Known Locations:"]
        if newest is not None:
            lines.append(f"    passive: {_location_string(newest, boot, sdk)}")
        for provider in ("network", "gps"):
            if provider in last:
                lines.append(f"    {provider}: {_location_string(last[provider], boot, sdk)}")
        lines.append("  Last Known Locations Coarse Intervals:")
    else:
        lines += ["  User Info:", "    current user: [0]", "  Location Setting: enabled",
                  "  Battery Saver Location Mode: NO_CHANGE"]
        for provider in ("passive", "network", "fused", "gps"):
            fix = newest if provider in ("passive", "fused") else last.get(provider)
            lines.append(f"  {provider} provider:")
            if fix is not None:
                lines.append(f"    last location={_location_string(fix, boot, sdk)}")
            lines += ["    enabled=true", "    allowed=true"]
    return "\n".join(lines) + "\n"


def battery(state: PhoneState) -> str:
    b = state.battery
    return "\n".join([
        "Current Battery Service state:",
        f"  AC powered: {str(b.plugged == 'ac').lower()}",
        f"  USB powered: {str(b.plugged == 'usb').lower()}",
        f"  Wireless powered: {str(b.plugged == 'wireless').lower()}",
        "  Max charging current: 500000" if b.plugged else "  Max charging current: 0",
        "  Max charging voltage: 5000000" if b.plugged else "  Max charging voltage: 0",
        f"  Charge counter: {b.level * 40000}",
        f"  status: {b.status}",
        f"  health: {b.health}",
        "  present: true",
        f"  level: {b.level}",
        f"  scale: {b.scale}",
        f"  voltage: {b.voltage}",
        f"  temperature: {b.temperature}",
        f"  technology: {b.technology}",
    ]) + "\n"


def package(state: PhoneState, name: str) -> str:
    pkg = state.packages.get(name)
    if pkg is None:
        return f"Unable to find package: {name}\n"
    sdk = state.identity.sdk
    tz = ZoneInfo(state.timezone)
    installed = datetime.fromtimestamp(pkg.first_install_ms / 1000, tz).strftime("%Y-%m-%d %H:%M:%S")
    install = [p for p in pkg.requested_permissions if not is_runtime(p, sdk)]
    runtime = [p for p in pkg.requested_permissions if is_runtime(p, sdk)]
    lines = ["Packages:", f"  Package [{name}] ({zlib.crc32(name.encode()):08x}):",
             f"    userId={app_uid(name)}", f"    codePath={pkg.apk_path.rsplit('/', 1)[0]}",
             f"    versionCode={pkg.version_code} minSdk=24 targetSdk={max(sdk, 30)}",
             f"    versionName={pkg.version_name}", f"    firstInstallTime={installed}",
             f"    lastUpdateTime={installed}", "    installerPackageName=null",
             "    requested permissions:", *[f"      {p}" for p in pkg.requested_permissions],
             "    install permissions:", *[f"      {p}: granted=true" for p in install],
             f"    User 0: ceDataInode=0 installed=true hidden=false suspended=false stopped={str(pkg.stopped).lower()} "
             "notLaunched=false enabled=0 instant=false virtual=false",
             "      runtime permissions:"]
    for p in runtime:
        lines.append(f"        {p}: granted={str(is_granted(pkg, p, sdk)).lower()}, flags=[ USER_SENSITIVE_WHEN_GRANTED|"
                     "USER_SENSITIVE_WHEN_DENIED]")
    return "\n".join(lines) + "\n"


def deviceidle_whitelist(state: PhoneState) -> str:
    lines = [f"system-excidle,{p},{1000 + i}" for i, p in enumerate(SYSTEM_IDLE_WHITELIST)]
    lines += [f"user,{p},{app_uid(p)}" for p in state.deviceidle_whitelist]
    return "\n".join(lines) + "\n"
