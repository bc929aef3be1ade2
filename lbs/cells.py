"""Integer grid cells for "nearby" queries inside SQL (SQLite and PostgreSQL alike).

Level ``L`` cuts the globe into square cells of ``360 / 2**L`` degrees (level 14 ≈
2.4 km north–south, ≈ 2.1 km east–west at 30° N; level 10 ≈ 39 km). A cell id is
``row * 2**L + col`` and fits a 64-bit integer for every level up to 30; ids are unique
within a level only, so store one indexed column per level, e.g. ``geo_cell_14`` and
``geo_cell_10`` on the customer row, filled with :func:`cell_of`.

Query: ``WHERE geo_cell_14 IN (:cells)`` with ``cells_covering(lat, lon, radius_m, 14)``,
then filter the few candidates by exact distance (:func:`lbs.geo.haversine_m`).
:func:`covering_level` picks the finest stored level that keeps the IN list short.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from lbs.errors import InvalidConfig, require_number
from lbs.geo import EARTH_RADIUS_M, cap_lon_half_width_deg
from lbs.points import check_lat_lon

DEFAULT_LEVEL = 14
MAX_LEVEL = 30


def _check_level(level: int) -> None:
    if not (isinstance(level, int) and 1 <= level <= MAX_LEVEL):
        raise InvalidConfig(f"level must be an integer 1..{MAX_LEVEL}", field="level")


def cell_size_deg(level: int) -> float:
    _check_level(level)
    return 360.0 / (1 << level)


def _row_col(lat: float, lon: float, level: int) -> tuple[int, int]:
    size = cell_size_deg(level)
    rows = 1 << (level - 1)
    row = min(rows - 1, math.floor((lat + 90.0) / size))
    col = math.floor((lon + 180.0) / size) % (1 << level)
    return row, col


def cell_of(lat: float, lon: float, level: int = DEFAULT_LEVEL) -> int:
    """The id of the cell containing (lat, lon) at ``level``."""
    check_lat_lon(lat, lon)
    row, col = _row_col(lat, lon, level)
    return row * (1 << level) + col


@dataclass(frozen=True, slots=True)
class Box:
    """Latitude/longitude bounds (degrees) of a circle on the sphere. ``west``/``east`` are None
    when it spans every longitude (it reaches a pole); ``west > east`` when it crosses the
    antimeridian."""

    south: float
    north: float
    west: float | None
    east: float | None


#: Bounds are widened by this much (≈ 0.1 mm) so rounding never leaves a point on the circle out.
_PAD_DEG = 1e-9


def bounding_box(lat: float, lon: float, radius_m: float) -> Box:
    """The exact latitude/longitude bounding box of the spherical cap of ``radius_m`` around
    (lat, lon): every point within the radius is inside it."""
    check_lat_lon(lat, lon)
    require_number(radius_m, "radius_m")
    angular = min(math.pi, radius_m / EARTH_RADIUS_M)
    dlat = math.degrees(angular) + _PAD_DEG
    south, north = max(-90.0, lat - dlat), min(90.0, lat + dlat)
    half = cap_lon_half_width_deg(lat, angular)
    if half is None or half + _PAD_DEG >= 180.0:
        return Box(south, north, None, None)
    half += _PAD_DEG
    return Box(south, north, ((lon - half + 180.0) % 360.0) - 180.0, ((lon + half + 180.0) % 360.0) - 180.0)


def cells_covering(lat: float, lon: float, radius_m: float, level: int = DEFAULT_LEVEL) -> list[int]:
    """Sorted ids of every cell at ``level`` that may hold a point within ``radius_m``: the
    cells meeting its :func:`bounding_box` (corner cells beyond the circle are included)."""
    box = bounding_box(lat, lon, radius_m)
    _check_level(level)
    cols = 1 << level
    row0, _ = _row_col(box.south, lon, level)
    row1, _ = _row_col(box.north, lon, level)
    if box.west is None or box.east is None:
        col_ids: Sequence[int] = range(cols)
    else:
        _, c0 = _row_col(lat, box.west, level)
        _, c1 = _row_col(lat, box.east, level)
        col_ids = range(c0, c1 + 1) if c0 <= c1 else [*range(c0, cols), *range(0, c1 + 1)]
    return sorted(row * cols + c for row in range(row0, row1 + 1) for c in col_ids)


def covering_level(radius_m: float, levels: Sequence[int] = (DEFAULT_LEVEL, 10), max_cells: int = 64) -> int:
    """The finest of the stored ``levels`` whose covering of ``radius_m`` has ≤ ``max_cells`` cells.

    Estimated at 60° latitude (cells are narrower there), so it holds for most places.
    Falls back to the coarsest level.
    """
    for level in sorted(levels, reverse=True):
        size_m = math.radians(cell_size_deg(level)) * EARTH_RADIUS_M
        per_row = 2 * radius_m / (size_m * 0.5) + 2
        per_col = 2 * radius_m / size_m + 2
        if per_row * per_col <= max_cells:
            return level
    return min(levels)
