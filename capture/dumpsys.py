"""``dumpsys location`` and ``dumpsys battery`` output → typed values.

``dumpsys location`` prints ``Location[...]`` objects in two layouts:

* Android ≤ 10: a ``Last Known Locations:`` section, one ``<provider>: Location[...]``
  per line (``Last Known Locations Coarse Intervals:`` is skipped: fuzzed on purpose);
* Android 11+: per-provider blocks with ``last location=Location[...]``
  (``last coarse location=`` is skipped).

Old builds format latitude/longitude with the device locale, so
``31,230416,121,473701`` (decimal commas) occurs. ``et`` is time since boot, not
wall-clock time: :meth:`DumpsysLocation.to_fix` needs the phone's current uptime.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from capture.errors import DumpsysFormatError, PayloadError
from capture.fix import Fix, FixSource

_LAST_KNOWN = "Last Known Locations:"
_LAST_LOCATION = "last location="
_PROVIDER_BLOCK = re.compile(r"^\s*(\w+) provider:\s*$")
_LEGACY_ENTRY = re.compile(r"^\s+(\w+): Location\[")
_DURATION = re.compile(
    r"^(?P<sign>[+-])?(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m(?!s))?(?:(?P<s>\d+)s)?(?:(?P<ms>\d+)ms)?$"
)
_REFUSALS = ("Permission Denial", "Can't find service")
_MAX_LOCATION_CHARS = 4096


@dataclass(frozen=True, slots=True)
class DumpsysLocation:
    """One ``Location[...]`` from ``dumpsys location``.

    ``elapsed`` is the fix's time since boot (``et=``), ``None`` when unknown;
    ``listed_under`` is the provider section the entry was printed in.
    """

    provider: str
    lat: float
    lon: float
    listed_under: str
    elapsed: timedelta | None = None
    accuracy_m: float | None = None
    altitude_m: float | None = None
    speed_mps: float | None = None
    bearing_deg: float | None = None
    vertical_accuracy_m: float | None = None
    mock: bool = False

    def wall_time(self, *, now: datetime, uptime: timedelta) -> datetime | None:
        """The fix's wall-clock time, given the phone's ``now`` and current uptime."""
        if self.elapsed is None or self.elapsed > uptime:
            return None
        return now - (uptime - self.elapsed)

    def to_fix(self, device_key: str, *, now: datetime, uptime: timedelta) -> Fix:
        """A :class:`Fix` (raises :class:`PayloadError` when the time cannot be known)."""
        time = self.wall_time(now=now, uptime=uptime)
        if time is None:
            raise PayloadError("fix time unknown (missing et or et after uptime)", "et")
        return Fix(
            device_key=device_key, time=time, lat=self.lat, lon=self.lon, source=FixSource.DUMPSYS,
            accuracy_m=self.accuracy_m, speed_mps=self.speed_mps, bearing_deg=self.bearing_deg,
            altitude_m=self.altitude_m, mock=self.mock, provider=self.provider,
        )


def parse_dumpsys_location(text: str) -> list[DumpsysLocation]:
    """All last-known fixes in the dump (``null`` entries and unreadable ones are left out).

    Raises :class:`DumpsysFormatError` when the text is a refusal or not a location dump.
    """
    _refuse_if_refused(text, "location")
    found: list[DumpsysLocation] = []
    in_legacy = False
    block = "unknown"
    recognised = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped == _LAST_KNOWN:
            in_legacy, recognised = True, True
            continue
        header = _PROVIDER_BLOCK.match(line)
        if header:
            block, in_legacy, recognised = header.group(1), False, True
            continue
        if in_legacy:
            entry = _LEGACY_ENTRY.match(line)
            if entry is None:
                in_legacy = stripped == "" or line.startswith("    ")
                continue
            location = _location(line[entry.end() - len("Location[") :], entry.group(1))
        elif stripped.startswith(_LAST_LOCATION):
            recognised = True
            location = _location(stripped[len(_LAST_LOCATION) :], block)
        else:
            continue
        if location is not None:
            found.append(location)
    if not recognised:
        raise DumpsysFormatError("not dumpsys location output (no last known locations found)")
    return found


def latest(locations: list[DumpsysLocation]) -> DumpsysLocation | None:
    """The most recent fix (largest ``et``); among equals the most accurate."""
    timed = [loc for loc in locations if loc.elapsed is not None]
    if not timed:
        return None
    return max(timed, key=lambda loc: (loc.elapsed, -(loc.accuracy_m if loc.accuracy_m is not None else math.inf)))


def parse_duration(text: str) -> timedelta | None:
    """Android ``TimeUtils.formatDuration`` text (``+1d2h3m4s5ms``) → timedelta."""
    m = _DURATION.match(text.strip())
    if m is None or text.strip() in ("", "+", "-"):
        return None
    parts = {k: int(v) for k, v in m.groupdict().items() if k != "sign" and v is not None}
    value = timedelta(
        days=parts.get("d", 0), hours=parts.get("h", 0), minutes=parts.get("m", 0),
        seconds=parts.get("s", 0), milliseconds=parts.get("ms", 0),
    )
    return -value if m.group("sign") == "-" else value


def parse_uptime(text: str) -> timedelta:
    """``cat /proc/uptime`` (``"12345.67 23456.78"``) → time since boot."""
    try:
        seconds = float(text.split()[0])
    except (IndexError, ValueError):
        raise DumpsysFormatError(f"not /proc/uptime output: {text[:40]!r}") from None
    if not math.isfinite(seconds) or seconds < 0 or seconds > 1e10:
        raise DumpsysFormatError(f"uptime out of range: {seconds}")
    return timedelta(seconds=seconds)


def _location(text: str, listed_under: str) -> DumpsysLocation | None:
    """Parse ``Location[provider lat,lon key=value ... {extras}]`` (``None`` if unreadable)."""
    if not text.startswith("Location["):
        return None
    inner = text[len("Location[") : _MAX_LOCATION_CHARS]
    extras_at = inner.find(" {")
    core = inner[:extras_at] if extras_at >= 0 else inner.rsplit("]", 1)[0]
    tokens = core.split()
    if len(tokens) < 2:
        return None
    position = _lat_lon(tokens[1])
    if position is None:
        return None
    fields: dict[str, str] = {}
    mock = False
    for token in tokens[2:]:
        key, sep, value = token.partition("=")
        if not sep:
            mock = mock or key == "mock"
            continue
        fields[key] = value
    try:
        return DumpsysLocation(
            provider=tokens[0],
            lat=position[0],
            lon=position[1],
            listed_under=listed_under,
            elapsed=parse_duration(fields.get("et", "")),
            accuracy_m=_number(fields.get("hAcc", fields.get("acc"))),
            altitude_m=_number(fields.get("alt")),
            speed_mps=_number(fields.get("vel")),
            bearing_deg=_number(fields.get("bear")),
            vertical_accuracy_m=_number(fields.get("vAcc")),
            mock=mock,
        )
    except ValueError:
        return None


def _lat_lon(text: str) -> tuple[float, float] | None:
    parts = text.split(",")
    if len(parts) == 4:  # decimal commas: "31,230416,121,473701"
        parts = [f"{parts[0]}.{parts[1]}", f"{parts[2]}.{parts[3]}"]
    if len(parts) != 2:
        return None
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError:
        return None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon


def _number(text: str | None) -> float | None:
    if text is None or "?" in text:
        return None
    value = float(text.replace(",", "."))
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _refuse_if_refused(text: str, service: str) -> None:
    head = text.lstrip()[:300]
    if any(head.startswith(refusal) for refusal in _REFUSALS):
        raise DumpsysFormatError(f"dumpsys {service} refused: {head.splitlines()[0]}")


# --- battery ---------------------------------------------------------------------------------------


class BatteryStatus(StrEnum):
    UNKNOWN = "unknown"
    CHARGING = "charging"
    DISCHARGING = "discharging"
    NOT_CHARGING = "not_charging"
    FULL = "full"


class BatteryHealth(StrEnum):
    UNKNOWN = "unknown"
    GOOD = "good"
    OVERHEAT = "overheat"
    DEAD = "dead"
    OVER_VOLTAGE = "over_voltage"
    FAILURE = "failure"
    COLD = "cold"


_STATUS = {1: BatteryStatus.UNKNOWN, 2: BatteryStatus.CHARGING, 3: BatteryStatus.DISCHARGING,
           4: BatteryStatus.NOT_CHARGING, 5: BatteryStatus.FULL}
_HEALTH = {1: BatteryHealth.UNKNOWN, 2: BatteryHealth.GOOD, 3: BatteryHealth.OVERHEAT, 4: BatteryHealth.DEAD,
           5: BatteryHealth.OVER_VOLTAGE, 6: BatteryHealth.FAILURE, 7: BatteryHealth.COLD}
_POWER_SOURCES = {"AC powered": "ac", "USB powered": "usb", "Wireless powered": "wireless", "Dock powered": "dock"}
_BATTERY_HEADER = "Current Battery Service state:"


@dataclass(frozen=True, slots=True)
class BatteryState:
    """``dumpsys battery``. ``plugged`` names the power sources (``ac``, ``usb``, ...)."""

    level: int
    scale: int
    status: BatteryStatus
    health: BatteryHealth
    plugged: frozenset[str]
    present: bool | None = None
    temperature_c: float | None = None
    voltage_mv: int | None = None
    technology: str | None = None
    updates_stopped: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def percent(self) -> float:
        return 100.0 * self.level / self.scale

    @property
    def charging(self) -> bool:
        return bool(self.plugged) or self.status is BatteryStatus.CHARGING


def parse_dumpsys_battery(text: str) -> BatteryState:
    """Parse ``dumpsys battery``; raises :class:`DumpsysFormatError` on a refusal or bad shape."""
    _refuse_if_refused(text, "battery")
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == _BATTERY_HEADER), None)
    if start is None:
        raise DumpsysFormatError(f"missing {_BATTERY_HEADER!r}")
    values: dict[str, str] = {}
    updates_stopped = False
    for line in lines[start + 1 :]:
        if line and not line[0].isspace():
            break
        key, sep, value = line.strip().partition(": ")
        if sep:
            values[key] = value.strip()
        elif "UPDATES STOPPED" in line:
            updates_stopped = True
    level = _battery_int(values, "level")
    scale = _battery_int(values, "scale")
    scale = 100 if scale is None else scale
    if level is None:
        raise DumpsysFormatError("battery level missing")
    if scale <= 0 or not 0 <= level <= scale:
        raise DumpsysFormatError(f"battery level {level} outside 0..{scale}")
    status_code, health_code = _battery_int(values, "status"), _battery_int(values, "health")
    temperature = _battery_int(values, "temperature")
    present = values.get("present")
    known = {"level", "scale", "status", "health", "temperature", "voltage", "technology", "present",
             *_POWER_SOURCES}
    return BatteryState(
        level=level,
        scale=scale,
        status=_STATUS.get(status_code or 1, BatteryStatus.UNKNOWN),
        health=_HEALTH.get(health_code or 1, BatteryHealth.UNKNOWN),
        plugged=frozenset(name for label, name in _POWER_SOURCES.items() if values.get(label) == "true"),
        present=None if present is None else present == "true",
        temperature_c=None if temperature is None else temperature / 10,
        voltage_mv=_battery_int(values, "voltage"),
        technology=values.get("technology") or None,
        updates_stopped=updates_stopped,
        extra={k: v for k, v in values.items() if k not in known},
    )


def _battery_int(values: dict[str, str], key: str) -> int | None:
    raw = values.get(key)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise DumpsysFormatError(f"battery {key} is not an integer: {raw[:20]!r}") from None
