"""WGS-84 ↔ GCJ-02 ↔ BD-09 conversion.

* WGS-84: GPS, Android ``LocationManager``, OpenStreetMap. The only system we store.
* GCJ-02 ("Mars coordinates"): Gaode/AMap, Tencent, Google inside mainland China.
  The published obfuscation formula; offset 300–700 m in mainland China.
* BD-09: Baidu, a further rotation/scaling of GCJ-02 (≈ 1 km from WGS-84 in total).

Forward transforms are closed formulas. The inverses have no closed form; they are
solved by fixed-point iteration until the round trip is below 1e-9° (≈ 0.1 mm).

Outside mainland China every system equals WGS-84 (providers do not shift there).
"Inside" is decided by :func:`in_mainland_china`, a set of rectangles approximating the
mainland border (± ~20 km at the edges), with Taiwan cut out. Hong Kong and Macau are
treated as inside (Gaode/Tencent shift them). Border areas of neighbouring countries
(Mongolia, Russia, Kazakhstan, Vietnam, Myanmar, North Korea) can be misclassified
near the frontier; this matters only for display offsets there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from enum import StrEnum
from functools import partial

from lbs.points import check_lat_lon

_A = 6378245.0  # Krasovsky 1940 semi-major axis used by GCJ-02
_EE = 0.00669342162296594323  # Krasovsky eccentricity squared
_X_PI = math.pi * 3000.0 / 180.0
_INVERSE_TOLERANCE_DEG = 1e-9
_MAX_ITERATIONS = 30

# (north, west, south, east) rectangles covering the mainland, then the cut-outs.
_INSIDE = (
    (49.220400, 79.446200, 42.889900, 96.330000),
    (54.141500, 109.687200, 39.374200, 135.000200),
    (42.889900, 73.124600, 29.529700, 124.143255),
    (29.529700, 82.968400, 26.718600, 97.035200),
    (29.529700, 97.025300, 20.414096, 124.367395),
    (20.414096, 107.975793, 17.871542, 111.744104),
)
_OUTSIDE = (
    (25.398623, 119.921265, 21.785006, 122.497559),  # Taiwan
    (22.284000, 101.865200, 20.098800, 106.665000),  # Laos / northern Vietnam
    (21.542200, 106.452500, 20.487800, 108.051000),  # Gulf of Tonkin coast, Vietnam
    (55.817500, 109.032300, 50.325700, 119.127000),  # Russia, Transbaikalia
    (55.817500, 127.456800, 49.557400, 137.022700),  # Russia, Amur
    (44.892200, 131.266200, 42.569200, 137.022700),  # Russia, Primorye
)


class CoordSystem(StrEnum):
    WGS84 = "wgs84"
    GCJ02 = "gcj02"
    BD09 = "bd09"


def _in_rect(lat: float, lon: float, rect: tuple[float, float, float, float]) -> bool:
    north, west, south, east = rect
    return south <= lat <= north and west <= lon <= east


def in_mainland_china(lat: float, lon: float) -> bool:
    """True where Chinese map providers apply the GCJ-02 shift (see module docstring)."""
    return any(_in_rect(lat, lon, r) for r in _INSIDE) and not any(_in_rect(lat, lon, r) for r in _OUTSIDE)


def _delta(lat: float, lon: float) -> tuple[float, float]:
    """GCJ-02 offset (dlat, dlon) in degrees for a WGS-84 point, without the China test."""
    x, y = lon - 105.0, lat - 35.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    dlat += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    dlat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    dlat += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    dlon += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    dlon += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    dlon += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    rad = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * math.cos(rad) * math.pi)
    return dlat, dlon


def _gcj_forward_unchecked(lat: float, lon: float) -> tuple[float, float]:
    dlat, dlon = _delta(lat, lon)
    return lat + dlat, lon + dlon


def _bd_forward_unchecked(lat: float, lon: float) -> tuple[float, float]:
    z = math.sqrt(lon * lon + lat * lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _X_PI)
    return z * math.sin(theta) + 0.006, z * math.cos(theta) + 0.0065


def _invert(
    forward: Callable[[float, float], tuple[float, float]], lat: float, lon: float
) -> tuple[float, float]:
    """Solve forward(w) == (lat, lon) for w by fixed-point iteration (the Jacobian is ≈ I)."""
    w_lat, w_lon = lat, lon
    for _ in range(_MAX_ITERATIONS):
        f_lat, f_lon = forward(w_lat, w_lon)
        e_lat, e_lon = f_lat - lat, f_lon - lon
        w_lat, w_lon = w_lat - e_lat, w_lon - e_lon
        if abs(e_lat) < _INVERSE_TOLERANCE_DEG and abs(e_lon) < _INVERSE_TOLERANCE_DEG:
            break
    return w_lat, w_lon


def _in_mainland_only(
    step: Callable[[float, float], tuple[float, float]],
) -> Callable[[float, float], tuple[float, float]]:
    """Wrap a raw transform: validate input, and leave points outside mainland China as they are."""

    def convert_point(lat: float, lon: float) -> tuple[float, float]:
        check_lat_lon(lat, lon)
        if not in_mainland_china(lat, lon):
            return lat, lon
        return step(lat, lon)

    return convert_point


wgs84_to_gcj02 = _in_mainland_only(_gcj_forward_unchecked)
gcj02_to_wgs84 = _in_mainland_only(partial(_invert, _gcj_forward_unchecked))  # exact inverse, < 1 mm
gcj02_to_bd09 = _in_mainland_only(_bd_forward_unchecked)
bd09_to_gcj02 = _in_mainland_only(partial(_invert, _bd_forward_unchecked))  # exact inverse, < 1 mm


def wgs84_to_bd09(lat: float, lon: float) -> tuple[float, float]:
    return gcj02_to_bd09(*wgs84_to_gcj02(lat, lon))


def bd09_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    return gcj02_to_wgs84(*bd09_to_gcj02(lat, lon))


_STEPS = {
    (CoordSystem.WGS84, CoordSystem.GCJ02): (wgs84_to_gcj02,),
    (CoordSystem.GCJ02, CoordSystem.WGS84): (gcj02_to_wgs84,),
    (CoordSystem.GCJ02, CoordSystem.BD09): (gcj02_to_bd09,),
    (CoordSystem.BD09, CoordSystem.GCJ02): (bd09_to_gcj02,),
    (CoordSystem.WGS84, CoordSystem.BD09): (wgs84_to_gcj02, gcj02_to_bd09),
    (CoordSystem.BD09, CoordSystem.WGS84): (bd09_to_gcj02, gcj02_to_wgs84),
}


def convert(lat: float, lon: float, src: CoordSystem | str, dst: CoordSystem | str) -> tuple[float, float]:
    """Convert one point between coordinate systems (names: ``wgs84``, ``gcj02``, ``bd09``)."""
    src_s, dst_s = CoordSystem(src), CoordSystem(dst)
    check_lat_lon(lat, lon)
    for step in _STEPS.get((src_s, dst_s), ()):
        lat, lon = step(lat, lon)
    return lat, lon


def convert_many(
    points: Iterable[tuple[float, float]], src: CoordSystem | str, dst: CoordSystem | str
) -> list[tuple[float, float]]:
    """:func:`convert` over (lat, lon) pairs, e.g. a track before drawing it on Gaode tiles."""
    return [convert(lat, lon, src, dst) for lat, lon in points]
