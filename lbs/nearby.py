"""In-memory index for "customers within R" and "K nearest" over up to millions of points.

Points are bucketed on a lat/lon grid and sorted by cell key; a query collects the key
ranges of the rows its bounding box crosses (binary search) and measures exact
haversine distances on those candidates only.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from lbs.errors import InvalidConfig, InvalidCoordinate, require_number
from lbs.geo import EARTH_RADIUS_M, cap_lon_half_width_deg, haversine_np
from lbs.points import check_lat_lon

_HALF_CIRCUMFERENCE_M = math.pi * EARTH_RADIUS_M


@dataclass(frozen=True, slots=True)
class Neighbour:
    id: Hashable
    lat: float
    lon: float
    distance_m: float


class NearbyIndex:
    """Immutable index over ``(id, lat, lon)`` triples.

    ``cell_deg`` defaults to a size giving about 16 points per occupied cell.
    """

    def __init__(
        self,
        ids: Sequence[Hashable],
        lats: Sequence[float] | np.ndarray,
        lons: Sequence[float] | np.ndarray,
        cell_deg: float | None = None,
    ) -> None:
        lat = np.asarray(lats, dtype=np.float64)
        lon = np.asarray(lons, dtype=np.float64)
        if not (len(ids) == lat.size == lon.size):
            raise InvalidCoordinate("ids, lats and lons must have the same length", field="points")
        if not (np.all(np.abs(lat) <= 90) and np.all(np.abs(lon) <= 180)):
            raise InvalidCoordinate("index points must have valid latitude/longitude", field="points")
        if cell_deg is None:
            cell_deg = self._auto_cell(lat, lon)
        if not (math.isfinite(cell_deg) and 0 < cell_deg <= 90):
            raise InvalidConfig("cell_deg must be in (0, 90]", field="cell_deg")
        self._size = float(cell_deg)
        self._cols = math.ceil(360.0 / self._size)
        keys = self._keys(lat, lon)
        order = np.argsort(keys, kind="stable")
        self._keys_sorted = keys[order]
        self._lat = lat[order]
        self._lon = lon[order]
        self._ids = [ids[i] for i in order.tolist()]
        self._rank = order  # insertion position, for deterministic ties
        self._density = self._estimate_density(lat, lon)

    @staticmethod
    def _auto_cell(lat: np.ndarray, lon: np.ndarray) -> float:
        if lat.size < 2:
            return 1.0
        area_deg2 = max(float(np.ptp(lat)) * float(np.ptp(lon)), 1e-6)
        return float(min(1.0, max(1e-4, math.sqrt(area_deg2 * 16.0 / lat.size))))

    @staticmethod
    def _estimate_density(lat: np.ndarray, lon: np.ndarray) -> float:
        """Points per square metre over the bounding box (used to guess a KNN radius)."""
        if lat.size < 2:
            return 1e-12
        h = max(float(np.ptp(lat)), 1e-4) * math.pi / 180 * EARTH_RADIUS_M
        mid = math.radians(float(np.mean(lat)))
        w = max(float(np.ptp(lon)), 1e-4) * math.pi / 180 * EARTH_RADIUS_M * max(math.cos(mid), 0.01)
        return lat.size / (h * w)

    def _keys(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        row = np.floor((lat + 90.0) / self._size).astype(np.int64)
        col = np.floor((lon + 180.0) / self._size).astype(np.int64) % self._cols
        return row * self._cols + col

    def __len__(self) -> int:
        return len(self._ids)

    def _candidates(self, lat: float, lon: float, radius_m: float) -> np.ndarray:
        angular = min(math.pi, radius_m / EARTH_RADIUS_M)
        dlat = math.degrees(angular)
        row0 = math.floor((max(-90.0, lat - dlat) + 90.0) / self._size)
        row1 = math.floor((min(90.0, lat + dlat) + 90.0) / self._size)
        half = cap_lon_half_width_deg(lat, angular)
        if half is None or half >= 180.0:
            col_ranges = [(0, self._cols - 1)]
        else:
            c0 = math.floor((lon - half + 180.0) / self._size)
            c1 = math.floor((lon + half + 180.0) / self._size)
            if c0 < 0:
                col_ranges = [(c0 % self._cols, self._cols - 1), (0, c1)]
            elif c1 >= self._cols:
                col_ranges = [(c0, self._cols - 1), (0, c1 % self._cols)]
            else:
                col_ranges = [(c0, c1)]
        rows = np.arange(row0, row1 + 1, dtype=np.int64) * self._cols
        lo = np.concatenate([np.searchsorted(self._keys_sorted, rows + a, "left") for a, _ in col_ranges])
        hi = np.concatenate([np.searchsorted(self._keys_sorted, rows + b, "right") for _, b in col_ranges])
        spans = [np.arange(a, b) for a, b in zip(lo.tolist(), hi.tolist(), strict=True) if b > a]
        return np.concatenate(spans) if spans else np.empty(0, dtype=np.intp)

    def _result(self, idx: np.ndarray, dist: np.ndarray) -> list[Neighbour]:
        return [
            Neighbour(self._ids[i], float(self._lat[i]), float(self._lon[i]), float(d))
            for i, d in zip(idx.tolist(), dist.tolist(), strict=True)
        ]

    def _within(self, lat: float, lon: float, radius_m: float) -> tuple[np.ndarray, np.ndarray]:
        cand = self._candidates(lat, lon, radius_m)
        dist = haversine_np(lat, lon, self._lat[cand], self._lon[cand])
        inside = dist <= radius_m
        cand, dist = cand[inside], dist[inside]
        order = np.lexsort((self._rank[cand], dist))
        return cand[order], dist[order]

    def within(self, lat: float, lon: float, radius_m: float, limit: int | None = None) -> list[Neighbour]:
        """Points within ``radius_m`` of (lat, lon), nearest first (ties by insertion order)."""
        check_lat_lon(lat, lon, "query")
        require_number(radius_m, "radius_m")
        idx, dist = self._within(lat, lon, radius_m)
        if limit is not None:
            idx, dist = idx[:limit], dist[:limit]
        return self._result(idx, dist)

    def nearest(
        self, lat: float, lon: float, k: int = 1, max_radius_m: float | None = None
    ) -> list[Neighbour]:
        """The ``k`` nearest points (optionally no further than ``max_radius_m``), nearest first."""
        check_lat_lon(lat, lon, "query")
        if not (isinstance(k, int) and k >= 1):
            raise InvalidConfig("k must be a positive integer", field="k")
        limit = _HALF_CIRCUMFERENCE_M if max_radius_m is None else float(max_radius_m)
        radius = min(limit, max(1.0, math.sqrt(k / (math.pi * self._density))))
        while True:
            idx, dist = self._within(lat, lon, radius)
            if idx.size >= k or radius >= limit or idx.size == len(self._ids):
                return self._result(idx[:k], dist[:k])
            radius = min(limit, radius * 2.0)
