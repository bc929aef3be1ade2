"""Douglas–Peucker line simplification in metres, vectorised level by level."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from lbs.errors import require_number
from lbs.geo import LocalProjection
from lbs.track import Track


def simplify_xy(
    x: ArrayLike, y: ArrayLike, tolerance_m: float, always_keep: ArrayLike = ()
) -> NDArray[np.intp]:
    """Indices of the points Douglas–Peucker keeps for planar metric coordinates.

    ``always_keep`` indices are kept and split the line first (Douglas–Peucker then runs
    on each piece between them).

    Every level of the recursion is one pass of array operations over the interior
    points of all still-open segments, so the cost is O(n · depth) numpy work instead
    of one Python call per kept point. Coordinates are centred and held in float32
    (≈ 2 mm resolution 20 km from the centre), which halves memory traffic; a point
    within a millimetre of the tolerance may therefore fall either way.
    """
    require_number(tolerance_m, "tolerance_m")
    x64 = np.asarray(x, dtype=np.float64)
    y64 = np.asarray(y, dtype=np.float64)
    n = x64.size
    if n <= 2:
        return np.arange(n, dtype=np.intp)
    xa = (x64 - x64.mean()).astype(np.float32)
    ya = (y64 - y64.mean()).astype(np.float32)
    tol2 = float(tolerance_m) ** 2
    keep = np.zeros(n, dtype=bool)
    keep[0] = keep[-1] = True
    keep[np.asarray(always_keep, dtype=np.intp)] = True
    fixed = np.flatnonzero(keep)
    start, end = fixed[:-1], fixed[1:]
    open_ = end - start > 1
    start, end = start[open_], end[open_]
    while start.size:
        lengths = end - start - 1
        offsets = np.zeros_like(lengths)
        np.cumsum(lengths[:-1], out=offsets[1:])
        # Interior indices of all open segments, built as a running sum of steps.
        step = np.ones(int(lengths.sum()), dtype=np.intp)
        step[0] = start[0] + 1
        step[offsets[1:]] = start[1:] - end[:-1] + 2
        idx = np.cumsum(step)
        seg = np.repeat(np.arange(start.size), lengths)
        # Squared distance from each interior point to its segment's chord (clamped).
        ax, ay = xa[start], ya[start]
        dx, dy = xa[end] - ax, ya[end] - ay
        den = dx * dx + dy * dy
        inv = np.divide(1.0, den, out=np.zeros_like(den), where=den > 0)
        px = xa[idx]
        px -= ax[seg]
        py = ya[idx]
        py -= ay[seg]
        sdx, sdy = dx[seg], dy[seg]
        u = px * sdx
        u += py * sdy
        u *= inv[seg]
        np.clip(u, 0.0, 1.0, out=u)
        sdx *= u
        px -= sdx
        sdy *= u
        py -= sdy
        px *= px
        py *= py
        px += py
        seg_max = np.maximum.reduceat(px, offsets)
        # First position of each segment's maximum.
        hits = np.flatnonzero(px == seg_max[seg])
        hit_seg = seg[hits]
        first = np.ones(hits.size, dtype=bool)
        first[1:] = hit_seg[1:] != hit_seg[:-1]
        hits, hit_seg = hits[first], hit_seg[first]
        far = seg_max[hit_seg] > tol2
        split, split_seg = idx[hits[far]], hit_seg[far]
        keep[split] = True
        new_start = np.concatenate((start[split_seg], split))
        new_end = np.concatenate((split, end[split_seg]))
        open_ = new_end - new_start > 1
        start, end = new_start[open_], new_end[open_]
    return np.flatnonzero(keep)


def simplify_indices(lat: ArrayLike, lon: ArrayLike, tolerance_m: float) -> NDArray[np.intp]:
    """Douglas–Peucker on WGS-84 coordinates after a local metric projection."""
    proj = LocalProjection.around(lat, lon)
    x, y = proj.to_xy(lat, lon)
    return simplify_xy(x, y, tolerance_m)


def line_indices(
    track: Track, stop_ranges: Sequence[tuple[int, int]], tolerance_m: float
) -> NDArray[np.intp]:
    """The replay line: indices of ``track`` to draw between stops.

    Inside each stop (inclusive index ranges) only its first and last fix stay, since
    the stop is drawn as a marker and its GPS jitter is not a path; each trip between
    them is simplified with Douglas–Peucker at ``tolerance_m``.
    """
    mask = np.ones(len(track), dtype=bool)
    ends = np.zeros(len(track), dtype=bool)
    for a, b in stop_ranges:
        mask[a + 1 : b] = False
        ends[[a, b]] = True
    idx = np.flatnonzero(mask)
    x, y = LocalProjection.around(track.lat, track.lon).to_xy(track.lat[idx], track.lon[idx])
    return idx[simplify_xy(x, y, tolerance_m, always_keep=np.flatnonzero(ends[idx]))]


def simplify_track(track: Track, tolerance_m: float) -> Track:
    """A copy of ``track`` reduced so no dropped fix is more than ``tolerance_m`` off the line."""
    return track.take(simplify_indices(track.lat, track.lon, tolerance_m))
