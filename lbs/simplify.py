"""Douglas–Peucker line simplification in metres, vectorised level by level."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from lbs.errors import InvalidConfig
from lbs.geo import LocalProjection
from lbs.track import Track


def simplify_xy(x: ArrayLike, y: ArrayLike, tolerance_m: float) -> NDArray[np.intp]:
    """Indices of the points Douglas–Peucker keeps for planar metric coordinates.

    Every level of the recursion is one pass of array operations over the interior
    points of all still-open segments, so the cost is O(n · depth) numpy work instead
    of one Python call per kept point.
    """
    if not tolerance_m >= 0:
        raise InvalidConfig("tolerance_m must be a non-negative number", field="tolerance_m")
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    n = xa.size
    if n <= 2:
        return np.arange(n, dtype=np.intp)
    tol2 = float(tolerance_m) ** 2
    keep = np.zeros(n, dtype=bool)
    keep[0] = keep[-1] = True
    start = np.array([0], dtype=np.intp)
    end = np.array([n - 1], dtype=np.intp)
    while start.size:
        lengths = end - start - 1
        offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        seg = np.repeat(np.arange(start.size), lengths)
        idx = np.arange(seg.size) - offsets[seg] + start[seg] + 1
        # Squared distance from each interior point to its segment's chord (clamped).
        ax, ay = xa[start], ya[start]
        dx, dy = xa[end] - ax, ya[end] - ay
        den = dx * dx + dy * dy
        inv = np.divide(1.0, den, out=np.zeros_like(den), where=den > 0)
        px = xa[idx] - ax[seg]
        py = ya[idx] - ay[seg]
        sdx, sdy = dx[seg], dy[seg]
        u = (px * sdx + py * sdy) * inv[seg]
        np.clip(u, 0.0, 1.0, out=u)
        px -= u * sdx
        py -= u * sdy
        d = px * px + py * py
        seg_max = np.maximum.reduceat(d, offsets)
        far = np.flatnonzero(seg_max > tol2)
        # First position of each segment's maximum: min over positions where d hits it.
        pos = np.where(d == seg_max[seg], np.arange(d.size), d.size)
        split = idx[np.minimum.reduceat(pos, offsets)[far]]
        keep[split] = True
        new_start = np.concatenate((start[far], split))
        new_end = np.concatenate((split, end[far]))
        open_ = new_end - new_start > 1
        start, end = new_start[open_], new_end[open_]
    return np.flatnonzero(keep)


def simplify_indices(lat: ArrayLike, lon: ArrayLike, tolerance_m: float) -> NDArray[np.intp]:
    """Douglas–Peucker on WGS-84 coordinates after a local metric projection."""
    proj = LocalProjection.around(lat, lon)
    x, y = proj.to_xy(lat, lon)
    return simplify_xy(x, y, tolerance_m)


def simplify_track(track: Track, tolerance_m: float) -> Track:
    """A copy of ``track`` reduced so no dropped fix is more than ``tolerance_m`` off the line."""
    return track.take(simplify_indices(track.lat, track.lon, tolerance_m))
