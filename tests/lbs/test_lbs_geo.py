import math

import numpy as np
import pytest

from lbs.geo import LocalProjection, bearing_deg, destination, haversine_m, haversine_np


def test_haversine_known_distance_beijing_shanghai():
    # Tiananmen to the Bund: about 1067 km along the great circle.
    d = haversine_m(39.9087, 116.3975, 31.2400, 121.4900)
    assert 1_060_000 < d < 1_075_000


def test_haversine_one_degree_of_latitude():
    assert haversine_m(0, 0, 1, 0) == pytest.approx(111_195, rel=1e-4)


def test_haversine_np_matches_scalar():
    lat = np.array([39.9, 31.2, -33.9])
    lon = np.array([116.4, 121.5, 151.2])
    got = haversine_np(lat, lon, lat + 0.01, lon - 0.02)
    want = [haversine_m(a, b, a + 0.01, b - 0.02) for a, b in zip(lat, lon, strict=True)]
    assert np.allclose(got, want)


def test_bearing_cardinal_directions():
    assert bearing_deg(0, 0, 1, 0) == pytest.approx(0.0)
    assert bearing_deg(0, 0, 0, 1) == pytest.approx(90.0)
    assert bearing_deg(0, 0, -1, 0) == pytest.approx(180.0)
    assert bearing_deg(0, 0, 0, -1) == pytest.approx(270.0)


def test_destination_round_trip():
    lat, lon = destination(31.23, 121.47, 37.0, 2500.0)
    assert haversine_m(31.23, 121.47, lat, lon) == pytest.approx(2500.0, rel=1e-9)
    assert bearing_deg(31.23, 121.47, lat, lon) == pytest.approx(37.0, abs=1e-6)


def test_local_projection_distances_are_metric():
    proj = LocalProjection(39.9, 116.4)
    lat2, lon2 = destination(39.9, 116.4, 60.0, 1000.0)
    x, y = proj.to_xy([39.9, lat2], [116.4, lon2])
    assert math.hypot(x[1] - x[0], y[1] - y[0]) == pytest.approx(1000.0, rel=2e-3)
    back_lat, back_lon = proj.to_latlon(x, y)
    assert np.allclose(back_lat, [39.9, lat2]) and np.allclose(back_lon, [116.4, lon2])
