"""Plain data types shared by the location package: points, fixes and time helpers."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lbs.errors import InvalidCoordinate, InvalidTime

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def require_aware(value: datetime, field: str) -> datetime:
    """Return ``value`` converted to UTC; raise :class:`InvalidTime` when it is naive."""
    if not isinstance(value, datetime):
        raise InvalidTime(f"{field} must be a datetime, got {type(value).__name__}", field=field)
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidTime(f"{field} must be timezone-aware (UTC)", field=field)
    return value.astimezone(UTC)


def epoch_us(value: datetime, field: str = "time") -> int:
    """An aware datetime as integer microseconds since 1970-01-01 UTC (exact, unlike ``timestamp()``)."""
    return (require_aware(value, field) - EPOCH) // MICROSECOND


def check_lat_lon(lat: float, lon: float, field: str = "point") -> None:
    """Raise :class:`InvalidCoordinate` unless ``lat``/``lon`` are finite and in range."""
    try:
        lat_f, lon_f = float(lat), float(lon)
    except (TypeError, ValueError):
        raise InvalidCoordinate(f"{field}: latitude/longitude must be numbers", field=field) from None
    if not (math.isfinite(lat_f) and math.isfinite(lon_f)):
        raise InvalidCoordinate(f"{field}: latitude/longitude must be finite", field=field)
    if not -90.0 <= lat_f <= 90.0:
        raise InvalidCoordinate(f"{field}: latitude {lat_f} outside [-90, 90]", field=field)
    if not -180.0 <= lon_f <= 180.0:
        raise InvalidCoordinate(f"{field}: longitude {lon_f} outside [-180, 180]", field=field)


@dataclass(frozen=True, slots=True)
class Point:
    """A validated WGS-84 position in decimal degrees."""

    lat: float
    lon: float

    def __post_init__(self) -> None:
        check_lat_lon(self.lat, self.lon)


@dataclass(frozen=True, slots=True)
class Fix:
    """One position report from a phone, as received.

    Values are *not* range-checked here, so that nonsense coordinates can be kept and
    marked by :func:`lbs.filtering.filter_fixes`; only ``time`` must be timezone-aware
    (it is normalised to UTC).

    ``accuracy_m`` is the horizontal 68 % radius reported by Android; ``speed_mps`` and
    ``bearing_deg`` as reported; ``battery_pct`` 0–100; ``mock`` is Android's
    ``isFromMockProvider``; ``source`` the provider (``gps``, ``network``, ``fused`` ...).
    """

    time: datetime
    lat: float
    lon: float
    accuracy_m: float | None = None
    speed_mps: float | None = None
    bearing_deg: float | None = None
    altitude_m: float | None = None
    battery_pct: float | None = None
    mock: bool = False
    source: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "time", require_aware(self.time, "time"))
