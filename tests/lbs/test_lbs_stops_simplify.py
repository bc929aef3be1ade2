from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from lbs.errors import InvalidConfig, InvalidCoordinate
from lbs.geo import LocalProjection, haversine_m
from lbs.simplify import simplify_indices, simplify_xy
from lbs.simulate import SimConfig, simulate_day
from lbs.stops import StopConfig, _merge, _stop_ranges, detect_stops
from lbs.track import Track
from lbs.trajectory import TrajectoryConfig, analyze_day

HOME = (31.2304, 121.4737)


def li_reference(t, x, y, cfg):
    """Straightforward O(n·w) Li et al. stay-point loop used as the oracle."""
    n, i, out = len(t), 0, []
    while i < n:
        j = i + 1
        while (
            j < n
            and (x[j] - x[i]) ** 2 + (y[j] - y[i]) ** 2 <= cfg.radius_m**2
            and t[j] - t[j - 1] <= cfg.max_gap_s
        ):
            j += 1
        if t[j - 1] - t[i] >= cfg.min_duration_s:
            out.append((i, j - 1))
            i = j
        else:
            i += 1
    return out


def test_vectorised_detector_equals_reference_loop():
    rng = np.random.default_rng(3)
    for _ in range(150):
        n = int(rng.integers(2, 300))
        t = np.cumsum(rng.choice([1, 5, 10, 30, 600, 20000], size=n, p=[0.3, 0.3, 0.2, 0.15, 0.04, 0.01]))
        t = t.astype(float)
        x = np.cumsum(np.where(rng.random(n) < 0.1, rng.normal(0, 200, n), rng.normal(0, 20, n)))
        y = np.cumsum(rng.normal(0, 20, n))
        cfg = StopConfig(
            radius_m=float(rng.choice([50, 100, 150])),
            min_duration_s=float(rng.choice([0, 60, 300])),
            max_gap_s=float(rng.choice([600, 3600, 1e9])),
            merge_gap_s=0,
        )
        assert _stop_ranges(t, x, y, cfg) == _merge(li_reference(t, x, y, cfg), t, x, y, cfg)


def test_simulated_day_stops_match_truth():
    sites = [(31.25, 121.45), (31.21, 121.50), (31.27, 121.52)]
    day = simulate_day(HOME, sites, datetime(2024, 5, 6, 0, 30, tzinfo=UTC), seed=11)
    now = datetime.fromtimestamp(day.t[-1], tz=UTC) + timedelta(hours=1)
    result = analyze_day(day.to_fixes(), now)
    assert len(result.stops) == len(sites)
    for stop, truth in zip(result.stops, day.truth, strict=True):
        assert haversine_m(stop.lat, stop.lon, truth.lat, truth.lon) < 40
        assert abs((stop.start_time - truth.start).total_seconds()) < 120
        assert abs((stop.end_time - truth.end).total_seconds()) < 120
    assert result.distance_m > 0 and result.moving_s > 0
    assert result.stopped_s == pytest.approx(sum(s.duration_s for s in result.stops))
    assert len(result.trips) == len(sites) + 1


def test_short_traffic_light_is_not_a_stop():
    cfg = SimConfig(traffic_stop_prob=1.0, traffic_stop_range_s=(150, 200), gap_prob=0, outlier_rate=0)
    day = simulate_day(HOME, [(31.26, 121.47)], datetime(2024, 5, 6, 1, tzinfo=UTC), seed=5, config=cfg)
    stops = detect_stops(Track.from_arrays(day.t, day.lat, day.lon))
    assert len(stops) == 1


def test_sparse_fixes_at_one_place_are_a_stop_and_gap_is_reported(t0):
    # A tracker in "significant changes" mode: two fixes 40 min apart at the same place.
    t = [0, 60, 120, 2520, 2580, 2640]
    lat = [31.2, 31.21, 31.22, 31.22, 31.23, 31.24]
    lon = [121.4] * 6
    track = Track.from_arrays(np.array(t) + t0.timestamp(), lat, lon)
    stops = detect_stops(track)
    assert [(s.start_index, s.end_index) for s in stops] == [(2, 3)]
    day = analyze_day([], t0)
    assert day.stops == () and day.distance_m == 0


def test_gap_longer_than_max_gap_splits(t0):
    track = Track.from_arrays(np.array([0, 400, 20000, 20400]) + t0.timestamp(), [31.2] * 4, [121.4] * 4)
    stops = detect_stops(track, StopConfig(max_gap_s=3600))
    assert [(s.start_index, s.end_index) for s in stops] == [(0, 1), (2, 3)]


def test_stop_config_validation():
    with pytest.raises(InvalidConfig):
        StopConfig(radius_m=0)
    with pytest.raises(InvalidConfig):
        TrajectoryConfig(gap_s=-1)


def test_track_validation():
    with pytest.raises(InvalidCoordinate):
        Track.from_arrays([0, 1], [91, 0], [0, 0])
    with pytest.raises(InvalidCoordinate):
        Track.from_arrays([0, 1], [0], [0, 0])


def _dp_reference(x, y, tol, a, b, out):
    if b - a < 2:
        return
    dx, dy = x[b] - x[a], y[b] - y[a]
    den = dx * dx + dy * dy
    px, py = x[a + 1 : b] - x[a], y[a + 1 : b] - y[a]
    u = np.clip((px * dx + py * dy) / den if den else 0 * px, 0, 1)
    d = np.hypot(px - u * dx, py - u * dy)
    k = int(np.argmax(d))
    if d[k] > tol:
        out.add(a + 1 + k)
        _dp_reference(x, y, tol, a, a + 1 + k, out)
        _dp_reference(x, y, tol, a + 1 + k, b, out)


def test_simplify_equals_recursive_douglas_peucker():
    rng = np.random.default_rng(2)
    ang = np.cumsum(rng.normal(0, 0.1, 3000))
    x, y = np.cumsum(np.cos(ang) * 6), np.cumsum(np.sin(ang) * 6)
    want = {0, len(x) - 1}
    _dp_reference(x, y, 10.0, 0, len(x) - 1, want)
    assert simplify_xy(x, y, 10.0).tolist() == sorted(want)


def test_simplify_in_metres_bounds_the_error():
    proj = LocalProjection(*HOME)
    s = np.linspace(0, 5000, 2000)
    lat, lon = proj.to_latlon(s, 40 * np.sin(s / 300))
    kept = simplify_indices(lat, lon, 5.0)
    assert 10 < kept.size < 400
    x, y = proj.to_xy(lat, lon)
    line_y = np.interp(x, x[kept], y[kept])
    assert np.max(np.abs(line_y - y)) <= 5.0 + 1e-6
    assert simplify_indices(lat[:2], lon[:2], 5.0).tolist() == [0, 1]
    straight = np.arange(50.0)
    assert simplify_xy(straight, 2 * straight, 1.0).tolist() == [0, 49]
    assert simplify_xy(straight, 2 * straight, 1.0, always_keep=[7, 30]).tolist() == [0, 7, 30, 49]
    with pytest.raises(InvalidConfig):
        simplify_xy(x, y, -1)


def test_replay_line_keeps_stop_ends_and_drops_stop_jitter():
    sites = [(31.25, 121.45), (31.21, 121.50)]
    day = simulate_day(HOME, sites, datetime(2024, 5, 6, 0, 30, tzinfo=UTC), seed=3)
    result = analyze_day(day.to_fixes(), now=datetime.fromtimestamp(day.t[-1], tz=UTC) + timedelta(hours=1))
    line = set(result.simplified)
    for stop in result.stops:
        assert {stop.start_index, stop.end_index} <= line
        assert not line & set(range(stop.start_index + 1, stop.end_index))
    assert 0 in line and len(result.track) - 1 in line
    assert len(line) < len(result.track) / 2
