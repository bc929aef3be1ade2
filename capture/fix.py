"""One normalised location fix, whatever app or command produced it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from capture.errors import PayloadError

KNOT_MPS = 1852 / 3600
KMH_MPS = 1 / 3.6
MAX_DEVICE_KEY = 128


class FixSource(StrEnum):
    OWNTRACKS = "owntracks"
    OSMAND = "osmand"
    TRACCAR_JSON = "traccar_json"
    DUMPSYS = "dumpsys"


@dataclass(frozen=True, slots=True)
class Fix:
    """A location fix in WGS-84 with SI units; ``time`` is aware UTC.

    Construction validates ranges and raises :class:`PayloadError` naming the field.
    ``charging`` means "on external power" (charging or full).
    """

    device_key: str
    time: datetime
    lat: float
    lon: float
    source: FixSource
    accuracy_m: float | None = None
    speed_mps: float | None = None
    bearing_deg: float | None = None
    altitude_m: float | None = None
    battery_pct: float | None = None
    charging: bool | None = None
    mock: bool = False
    provider: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.device_key, str) or not self.device_key.strip():
            raise PayloadError("missing device identifier", "device_key")
        if len(self.device_key) > MAX_DEVICE_KEY or not self.device_key.isprintable():
            raise PayloadError("device identifier too long or not printable", "device_key")
        if not isinstance(self.time, datetime) or self.time.utcoffset() != timedelta(0):
            raise PayloadError("time must be an aware UTC datetime", "time")
        _check_range("lat", self.lat, -90.0, 90.0)
        _check_range("lon", self.lon, -180.0, 180.0)
        _check_range("accuracy_m", self.accuracy_m, 0.0, math.inf)
        _check_range("speed_mps", self.speed_mps, 0.0, 1000.0)
        _check_range("bearing_deg", self.bearing_deg, 0.0, 360.0)
        _check_range("altitude_m", self.altitude_m, -12_000.0, 100_000.0)
        _check_range("battery_pct", self.battery_pct, 0.0, 100.0)


def _check_range(name: str, value: float | None, low: float, high: float) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PayloadError(f"not a finite number: {value!r}", name)
    if not low <= value <= high:
        raise PayloadError(f"{value} outside [{low}, {high}]", name)
