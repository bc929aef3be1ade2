"""Stay-point (stop) detection, vectorised for millions of fixes.

Definition (Li et al. 2008, as in trackintel/scikit-mobility): a stop starts at an
anchor fix *i* and extends over the following fixes while each one is within
``radius_m`` of the anchor and no time step exceeds ``max_gap_s``; it counts when the
fixes span at least ``min_duration_s``. Anchors are tried left to right, and the next
anchor is the first fix after a stop. Consecutive stops whose centres are within
``radius_m`` and that are separated by at most ``merge_gap_s`` (or by no fix at all,
for up to ``max_gap_s``) are merged: a single GPS excursion or a silent tracker does not split a visit.

Speed: which fixes can anchor a stop is decided for all fixes at once with range
maximum/minimum queries over each fix's ``min_duration_s`` window on four projected
axes (an octagon that contains the circle); only those candidates are then checked
exactly, one stop at a time. Cost is O(n log w) array work plus O(number of stops)
Python steps, where w is the number of fixes in ``min_duration_s``.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

from lbs.errors import require_fields
from lbs.geo import LocalProjection
from lbs.track import Track


@dataclass(frozen=True, slots=True)
class StopConfig:
    """Defaults fit short customer visits: 120 m / 5 min (see docs/lbs.md)."""

    radius_m: float = 120.0
    min_duration_s: float = 300.0
    max_gap_s: float = 3 * 3600.0
    merge_gap_s: float = 300.0

    def __post_init__(self) -> None:
        require_fields(self, "min_duration_s", "max_gap_s", "merge_gap_s")
        require_fields(self, "radius_m", positive=True)


@dataclass(frozen=True, slots=True)
class Stop:
    """A stay point. Indices refer to the track it was detected on (inclusive)."""

    start_index: int
    end_index: int
    start_time: datetime
    end_time: datetime
    lat: float
    lon: float
    radius_m: float  # largest distance of a member fix from the centre

    @property
    def duration_s(self) -> float:
        return (self.end_time - self.start_time).total_seconds()

    @property
    def fix_count(self) -> int:
        return self.end_index - self.start_index + 1


def _median(v: NDArray[np.float64]) -> float:
    """Median without np.median's per-call overhead (called once per stop and axis)."""
    k = v.size // 2
    part = np.partition(v, [k - 1, k] if v.size % 2 == 0 and k > 0 else k)
    return float(part[k]) if v.size % 2 else float((part[k - 1] + part[k]) / 2)


def _centre(x: NDArray[np.float64], y: NDArray[np.float64], a: int, b: int) -> tuple[float, float]:
    return _median(x[a : b + 1]), _median(y[a : b + 1])


_AXES = tuple((math.cos(a), math.sin(a)) for a in (0.0, math.pi / 4, math.pi / 2, 3 * math.pi / 4))


def _window_candidates(
    t: NDArray[np.float64], x: NDArray[np.float64], y: NDArray[np.float64], config: StopConfig
) -> tuple[NDArray[np.bool_], NDArray[np.intp]]:
    """For each fix i: may it anchor a stop (octagon test), and the end w(i) of its window.

    w(i) is the first fix at least ``min_duration_s`` after i. The test asks whether all
    fixes i..w(i) lie within ``radius_m`` of fix i along four axes, and whether no step
    inside the window exceeds ``max_gap_s``. Range extremes are answered with a sparse
    table built one level at a time, so memory stays O(n).
    """
    n = t.size
    w = np.searchsorted(t, t + config.min_duration_s, side="left")
    has_window = w < n
    cand = np.zeros(n, dtype=bool)
    qi = np.flatnonzero(has_window)
    qw = w[qi]
    # Cheap necessary conditions first: the window's last and middle fix near the anchor.
    r2 = config.radius_m**2
    for middle in (False, True):
        probe = (qi + qw) // 2 if middle else qw
        near = (x[probe] - x[qi]) ** 2 + (y[probe] - y[qi]) ** 2 <= r2
        qi, qw = qi[near], qw[near]
    if qi.size == 0:
        return cand, w
    steps = np.diff(t, append=t[-1])  # step from fix k to k+1; last one is 0
    # float32 halves memory traffic; the 1 cm margin keeps the test a superset of the
    # exact circle check despite rounding.
    xc, yc = (x - x.mean()).astype(np.float32), (y - y.mean()).astype(np.float32)
    proj = [xc * np.float32(c) + yc * np.float32(s) for c, s in _AXES]
    reach = config.radius_m + 0.01
    level = np.frexp((qw - qi).astype(np.float64))[1]  # floor(log2(len)) + 1 for len >= 1
    # Window i..w(i) has qw - qi + 1 fixes; its steps are i..w(i)-1 (qw - qi of them).
    ok = np.ones(qi.size, dtype=bool)
    maxs = [p.copy() for p in proj]
    mins = [p.copy() for p in proj]
    gaps = steps
    span = 1
    for k in range(max(1, int(level.max()))):
        sel = np.flatnonzero(level == k + 1) if k else np.flatnonzero(level <= 1)
        if sel.size:
            a = qi[sel]
            b_pts = qw[sel] - span + 1
            b_steps = qw[sel] - span
            for p, mx, mn in zip(proj, maxs, mins, strict=True):
                anchor = p[a]
                hi = np.maximum(mx[a], mx[b_pts])
                lo = np.minimum(mn[a], mn[b_pts])
                ok[sel] &= (hi - anchor <= reach) & (anchor - lo <= reach)
            gap_ok = np.maximum(gaps[a], gaps[np.maximum(b_steps, a)]) <= config.max_gap_s
            ok[sel] &= gap_ok | (qw[sel] == a)  # a one-fix window has no steps
        if span >= n:
            break
        head, tail = slice(0, n - span), slice(span, n)
        for mx, mn in zip(maxs, mins, strict=True):
            np.maximum(mx[head], mx[tail], out=mx[head])
            np.minimum(mn[head], mn[tail], out=mn[head])
        np.maximum(gaps[head], gaps[tail], out=gaps[head])
        span *= 2
    cand[qi[ok]] = True
    return cand, w


def _stop_end(
    i: int,
    w: int,
    steps: NDArray[np.float64],
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    config: StopConfig,
) -> int | None:
    """Exact check of anchor ``i``; return the last index of its stop or None.

    ``steps[k]`` is the time from fix k to k+1.
    """
    r2 = config.radius_m**2
    seg = slice(i, w + 1)
    if np.any((x[seg] - x[i]) ** 2 + (y[seg] - y[i]) ** 2 > r2):
        return None
    if w > i and steps[i:w].max() > config.max_gap_s:
        return None
    n = x.size
    pos, chunk = w + 1, 64
    while pos < n:
        hi = min(n, pos + chunk)
        out = ((x[pos:hi] - x[i]) ** 2 + (y[pos:hi] - y[i]) ** 2 > r2) | (
            steps[pos - 1 : hi - 1] > config.max_gap_s
        )
        bad = np.flatnonzero(out)
        if bad.size:
            return pos + int(bad[0]) - 1
        pos, chunk = hi, chunk * 2
    return n - 1


def _make_stop(
    track: Track, proj: LocalProjection, x: NDArray[np.float64], y: NDArray[np.float64], a: int, b: int
) -> Stop:
    cx, cy = _centre(x, y, a, b)
    radius = float(np.sqrt(np.max((x[a : b + 1] - cx) ** 2 + (y[a : b + 1] - cy) ** 2)))
    lat, lon = proj.to_latlon(cx, cy)
    return Stop(
        start_index=a,
        end_index=b,
        start_time=datetime.fromtimestamp(float(track.t[a]), tz=UTC),
        end_time=datetime.fromtimestamp(float(track.t[b]), tz=UTC),
        lat=float(lat),
        lon=float(lon),
        radius_m=radius,
    )


def _stop_ranges(
    t: NDArray[np.float64], x: NDArray[np.float64], y: NDArray[np.float64], config: StopConfig
) -> list[tuple[int, int]]:
    if t.size < 2:
        return []
    cand, w = _window_candidates(t, x, y, config)
    candidates = np.flatnonzero(cand).tolist()
    steps = np.diff(t)
    ranges: list[tuple[int, int]] = []
    pos = 0
    while True:
        ci = bisect.bisect_left(candidates, pos)
        if ci >= len(candidates):
            break
        i = candidates[ci]
        end = _stop_end(i, int(w[i]), steps, x, y, config)
        if end is None:
            pos = i + 1
            continue
        ranges.append((i, end))
        pos = end + 1
    return _merge(ranges, t, x, y, config)


def _merge(
    ranges: list[tuple[int, int]],
    t: NDArray[np.float64],
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    config: StopConfig,
) -> list[tuple[int, int]]:
    """Join consecutive stops at the same place (centres within the radius, short pause)."""
    merged: list[tuple[int, int]] = []
    last_centre = (0.0, 0.0)
    for a, b in ranges:
        centre = _centre(x, y, a, b)
        if merged:
            pa, pb = merged[-1]
            close_in_place = math.dist(centre, last_centre) <= config.radius_m
            # Adjacent stops (no fix between them) are one stay even across a long silence.
            pause = t[a] - t[pb]
            silent = a == pb + 1 and pause <= config.max_gap_s
            if close_in_place and (pause <= config.merge_gap_s or silent):
                merged[-1] = (pa, b)
                continue
        merged.append((a, b))
        last_centre = centre
    return merged


def detect_stops(track: Track, config: StopConfig | None = None) -> list[Stop]:
    """Stops of ``track``: index range, times, centre (median of member fixes) and spread."""
    cfg = config or StopConfig()
    proj = LocalProjection.around(track.lat, track.lon)
    x, y = proj.to_xy(track.lat, track.lon)
    return [_make_stop(track, proj, x, y, a, b) for a, b in _stop_ranges(track.t, x, y, cfg)]
