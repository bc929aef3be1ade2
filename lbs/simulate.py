"""Simulated field days with known ground-truth stops, for tests, evaluation and benchmarks.

A rep leaves a start point, drives to each site in turn along an L-shaped "street"
path (with short standstills at traffic lights and sometimes a slow traffic jam), stays for a dwell time moving a little
inside the building, and drives back. Fixes come every ``interval_s`` with Gaussian
GPS noise; a share of them is made bad the way real phones do: far outliers, low
accuracy, duplicated fix times, (0, 0), mock flags, and tracking gaps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from lbs.geo import LocalProjection
from lbs.points import Fix


@dataclass(frozen=True, slots=True)
class SimConfig:
    interval_s: float = 10.0
    noise_m: float = 8.0
    speed_range_mps: tuple[float, float] = (5.0, 12.0)
    dwell_range_s: tuple[float, float] = (360.0, 2700.0)
    indoor_wander_m: float = 25.0
    traffic_stop_prob: float = 0.6  # per drive
    traffic_stop_range_s: tuple[float, float] = (30.0, 150.0)
    jam_prob: float = 0.15  # per drive: crawl through a traffic jam
    jam_range_s: tuple[float, float] = (180.0, 600.0)
    jam_speed_range_mps: tuple[float, float] = (0.3, 2.0)
    outlier_rate: float = 0.004
    low_accuracy_rate: float = 0.02
    duplicate_rate: float = 0.005
    zero_rate: float = 0.001
    mock_rate: float = 0.0
    gap_prob: float = 0.3  # per day: one tracking gap
    gap_range_s: tuple[float, float] = (900.0, 1800.0)


@dataclass(frozen=True, slots=True)
class TruthStop:
    start: datetime
    end: datetime
    lat: float
    lon: float
    site_index: int


@dataclass(frozen=True, slots=True, eq=False)
class SimulatedDay:
    """Fixes as arrays (UTC epoch seconds, degrees, metres) plus the true visits."""

    t: NDArray[np.float64]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    accuracy_m: NDArray[np.float64]
    mock: NDArray[np.bool_]
    truth: tuple[TruthStop, ...]

    def to_fixes(self) -> list[Fix]:
        return [
            Fix(
                time=datetime.fromtimestamp(t, tz=UTC),
                lat=la,
                lon=lo,
                accuracy_m=acc,
                mock=bool(m),
                source="gps",
            )
            for t, la, lo, acc, m in zip(
                self.t.tolist(),
                self.lat.tolist(),
                self.lon.tolist(),
                self.accuracy_m.tolist(),
                self.mock.tolist(),
                strict=True,
            )
        ]


def random_sites(
    center: tuple[float, float], radius_m: float, count: int, rng: np.random.Generator
) -> list[tuple[float, float]]:
    """``count`` points uniformly inside a disc around ``center`` (lat, lon)."""
    proj = LocalProjection(*center)
    r = radius_m * np.sqrt(rng.random(count))
    a = rng.random(count) * 2 * np.pi
    lat, lon = proj.to_latlon(r * np.cos(a), r * np.sin(a))
    return list(zip(lat.tolist(), lon.tolist(), strict=True))


class _Builder:
    """Accumulates clean (t, x, y) samples leg by leg."""

    def __init__(self, t0: float, cfg: SimConfig, rng: np.random.Generator) -> None:
        self.t = t0
        self.cfg = cfg
        self.rng = rng
        self.parts: list[tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]] = []

    def _times(self, duration: float) -> NDArray[np.float64]:
        step = self.cfg.interval_s
        count = max(1, int(duration // step))
        jitter = self.rng.uniform(-0.2, 0.2, count) * step
        return self.t + np.arange(count) * step + np.clip(jitter, 0, None)

    def dwell(self, x: float, y: float, duration: float) -> None:
        ts = self._times(duration)
        wander = self.cfg.indoor_wander_m
        ox = np.cumsum(self.rng.normal(0, wander / 6, ts.size)).clip(-wander, wander)
        oy = np.cumsum(self.rng.normal(0, wander / 6, ts.size)).clip(-wander, wander)
        self.parts.append((ts, x + ox, y + oy))
        self.t += duration

    def drive(self, a: tuple[float, float], b: tuple[float, float]) -> None:
        """Drive along an L-shaped path; maybe halt at a light and crawl through a jam."""
        corner = (b[0], a[1]) if self.rng.random() < 0.5 else (a[0], b[1])
        pts = np.array([a, corner, b])
        cum = np.concatenate(([0.0], np.cumsum(np.hypot(*np.diff(pts, axis=0).T))))
        total = float(cum[-1])
        speed = self.rng.uniform(*self.cfg.speed_range_mps)
        # Sections of (distance covered, duration), placed at random points of the drive.
        slow: list[tuple[float, float]] = []
        if self.rng.random() < self.cfg.traffic_stop_prob:
            slow.append((0.0, self.rng.uniform(*self.cfg.traffic_stop_range_s)))
        if self.rng.random() < self.cfg.jam_prob:
            jam_s = self.rng.uniform(*self.cfg.jam_range_s)
            slow.append((min(total / 2, jam_s * self.rng.uniform(*self.cfg.jam_speed_range_mps)), jam_s))
        free = total - sum(d for d, _ in slow)  # distance driven at normal speed
        knots_d, knots_t, free_done = [0.0], [0.0], 0.0
        for at, (dist, dur) in zip(
            np.sort(self.rng.uniform(0.2, 0.8, len(slow)) * free).tolist(), slow, strict=True
        ):
            knots_d.append(knots_d[-1] + at - free_done)
            knots_t.append(knots_t[-1] + (at - free_done) / speed)
            knots_d.append(knots_d[-1] + dist)
            knots_t.append(knots_t[-1] + dur)
            free_done = at
        knots_d.append(total)
        knots_t.append(max(knots_t[-1] + (free - free_done) / speed, self.cfg.interval_s))
        ts = self._times(knots_t[-1])
        dist = np.interp(ts - self.t, knots_t, knots_d)
        self.parts.append((ts, np.interp(dist, cum, pts[:, 0]), np.interp(dist, cum, pts[:, 1])))
        self.t += knots_t[-1]


def _corrupt(
    t: NDArray[np.float64],
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    cfg: SimConfig,
    rng: np.random.Generator,
) -> tuple[NDArray[np.float64], ...]:
    n = t.size
    acc = rng.uniform(4.0, 20.0, n)
    x = x + rng.normal(0, cfg.noise_m, n)
    y = y + rng.normal(0, cfg.noise_m, n)
    out = rng.random(n) < cfg.outlier_rate
    ang = rng.uniform(0, 2 * np.pi, n)
    far = rng.uniform(1000, 5000, n)
    x = np.where(out, x + far * np.cos(ang), x)
    y = np.where(out, y + far * np.sin(ang), y)
    low = rng.random(n) < cfg.low_accuracy_rate
    acc = np.where(low, rng.uniform(300, 1500, n), acc)
    x = np.where(low, x + rng.normal(0, 1, n) * acc / 2, x)
    y = np.where(low, y + rng.normal(0, 1, n) * acc / 2, y)
    mock = rng.random(n) < cfg.mock_rate
    zero = rng.random(n) < cfg.zero_rate
    dup = np.flatnonzero(rng.random(n) < cfg.duplicate_rate)
    t = np.concatenate((t, t[dup]))
    x = np.concatenate((x, x[dup] + rng.normal(0, 30, dup.size)))
    y = np.concatenate((y, y[dup] + rng.normal(0, 30, dup.size)))
    acc = np.concatenate((acc, acc[dup]))
    mock = np.concatenate((mock, mock[dup]))
    zero = np.concatenate((zero, np.zeros(dup.size, dtype=bool)))
    order = np.argsort(t, kind="stable")
    return t[order], x[order], y[order], acc[order], mock[order], zero[order]


def simulate_day(
    home: tuple[float, float],
    sites: Sequence[tuple[float, float]],
    start: datetime,
    seed: int,
    config: SimConfig | None = None,
) -> SimulatedDay:
    """Drive from ``home`` to every site in order and back; return fixes and true stops."""
    cfg = config or SimConfig()
    rng = np.random.default_rng(seed)
    proj = LocalProjection(*home)
    sx, sy = proj.to_xy([s[0] for s in sites], [s[1] for s in sites])
    builder = _Builder(start.timestamp(), cfg, rng)
    here = (0.0, 0.0)
    truth: list[TruthStop] = []
    for k, (x, y) in enumerate(zip(sx.tolist(), sy.tolist(), strict=True)):
        builder.drive(here, (x, y))
        arrive = builder.t
        builder.dwell(x, y, rng.uniform(*cfg.dwell_range_s))
        truth.append(
            TruthStop(
                start=datetime.fromtimestamp(arrive, tz=UTC),
                end=datetime.fromtimestamp(builder.t, tz=UTC),
                lat=float(sites[k][0]),
                lon=float(sites[k][1]),
                site_index=k,
            )
        )
        here = (x, y)
    builder.drive(here, (0.0, 0.0))
    t = np.concatenate([p[0] for p in builder.parts])
    x = np.concatenate([p[1] for p in builder.parts])
    y = np.concatenate([p[2] for p in builder.parts])
    if rng.random() < cfg.gap_prob:
        g0 = rng.uniform(t[0], t[-1])
        keep = (t < g0) | (t > g0 + rng.uniform(*cfg.gap_range_s))
        t, x, y = t[keep], x[keep], y[keep]
    t, x, y, acc, mock, zero = _corrupt(t, x, y, cfg, rng)
    lat, lon = proj.to_latlon(x, y)
    lat = np.where(zero, 0.0, lat)
    lon = np.where(zero, 0.0, lon)
    return SimulatedDay(t, lat, lon, acc, mock, tuple(truth))


def simulate_days(
    center: tuple[float, float], days: int, sites_per_day: int, seed: int, config: SimConfig | None = None
) -> list[SimulatedDay]:
    """Several independent working days (08:30 local on consecutive dates, UTC+8) in one city."""
    rng = np.random.default_rng(seed)
    base = datetime(2024, 3, 4, 0, 30, tzinfo=UTC)
    out = []
    for d in range(days):
        home = random_sites(center, 8000, 1, rng)[0]
        sites = random_sites(center, 12000, sites_per_day, rng)
        out.append(simulate_day(home, sites, base + timedelta(days=d), seed * 100_003 + d, config))
    return out
