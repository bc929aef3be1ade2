import pytest

from lbs.coords import (
    CoordSystem,
    bd09_to_wgs84,
    convert,
    convert_many,
    gcj02_to_wgs84,
    in_mainland_china,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from lbs.errors import InvalidCoordinate
from lbs.geo import haversine_m

CITIES = {
    "beijing": ((39.9042, 116.4074), 555.0),
    "shanghai": ((31.2304, 121.4737), 481.0),
    "guangzhou": ((23.1291, 113.2644), 621.0),
}


@pytest.mark.parametrize("name", sorted(CITIES))
def test_gcj02_offset_at_known_cities(name):
    (lat, lon), offset = CITIES[name]
    g = wgs84_to_gcj02(lat, lon)
    assert haversine_m(lat, lon, *g) == pytest.approx(offset, abs=3.0)


def test_known_gcj02_value_tiananmen():
    # Published pair for the formula: WGS (39.90872, 116.39748) -> GCJ (39.91012, 116.40372).
    lat, lon = wgs84_to_gcj02(39.90872, 116.39748)
    assert lat == pytest.approx(39.91012, abs=2e-5)
    assert lon == pytest.approx(116.40372, abs=2e-5)


@pytest.mark.parametrize("name", sorted(CITIES))
def test_inverse_round_trip_below_a_centimetre(name):
    (lat, lon), _ = CITIES[name]
    assert haversine_m(lat, lon, *gcj02_to_wgs84(*wgs84_to_gcj02(lat, lon))) < 0.01
    assert haversine_m(lat, lon, *bd09_to_wgs84(*wgs84_to_bd09(lat, lon))) < 0.01


def test_round_trip_over_a_grid_of_mainland_points():
    worst = 0.0
    for lat in range(19, 53, 3):
        for lon in range(76, 134, 4):
            if not in_mainland_china(lat + 0.5, lon + 0.5):
                continue
            p = (lat + 0.5, lon + 0.5)
            worst = max(worst, haversine_m(*p, *gcj02_to_wgs84(*wgs84_to_gcj02(*p))))
            worst = max(worst, haversine_m(*p, *bd09_to_wgs84(*wgs84_to_bd09(*p))))
    assert worst < 0.01


@pytest.mark.parametrize(
    ("lat", "lon"), [(35.6812, 139.7671), (51.5074, -0.1278), (25.0330, 121.5654), (37.5665, 126.9780)]
)
def test_no_shift_outside_mainland(lat, lon):
    # Tokyo, London, Taipei, Seoul.
    assert wgs84_to_gcj02(lat, lon) == (lat, lon)
    assert wgs84_to_bd09(lat, lon) == (lat, lon)
    assert gcj02_to_wgs84(lat, lon) == (lat, lon)


def test_hong_kong_is_shifted():
    assert in_mainland_china(22.3193, 114.1694)
    assert not in_mainland_china(25.0330, 121.5654)


def test_bd09_is_further_than_gcj02():
    lat, lon = 39.9042, 116.4074
    assert haversine_m(lat, lon, *wgs84_to_bd09(lat, lon)) > 1000


def test_convert_dispatch_and_identity():
    p = (31.2304, 121.4737)
    assert convert(*p, "wgs84", "gcj02") == wgs84_to_gcj02(*p)
    assert convert(*p, CoordSystem.BD09, CoordSystem.BD09) == p
    back = convert(*convert(*p, "wgs84", "bd09"), "bd09", "gcj02")
    assert back == pytest.approx(wgs84_to_gcj02(*p), abs=1e-9)
    assert convert_many([p, p], "wgs84", "gcj02") == [wgs84_to_gcj02(*p)] * 2


def test_bad_input_raises_typed_errors():
    with pytest.raises(InvalidCoordinate):
        wgs84_to_gcj02(95.0, 10.0)
    with pytest.raises(InvalidCoordinate):
        convert(float("nan"), 1.0, "wgs84", "gcj02")
    with pytest.raises(ValueError):
        convert(1.0, 1.0, "wgs84", "mars")
