import math

import numpy as np
import pytest

from lbs.cells import bounding_box, cell_of, cell_size_deg, cells_covering, covering_level
from lbs.errors import InvalidConfig, InvalidCoordinate
from lbs.geo import destination, haversine_np
from lbs.nearby import NearbyIndex


@pytest.fixture(scope="module")
def city():
    rng = np.random.default_rng(0)
    n = 20_000
    lat = 31.23 + rng.normal(0, 0.15, n)
    lon = 121.47 + rng.normal(0, 0.2, n)
    return lat, lon, NearbyIndex([f"c{i}" for i in range(n)], lat, lon)


def brute(lat, lon, qlat, qlon):
    d = haversine_np(qlat, qlon, lat, lon)
    return d, np.lexsort((np.arange(lat.size), d))


def test_nearest_and_within_equal_brute_force(city):
    lat, lon, index = city
    rng = np.random.default_rng(1)
    for _ in range(100):
        q = (31.23 + rng.normal(0, 0.25), 121.47 + rng.normal(0, 0.3))
        d, order = brute(lat, lon, *q)
        got = index.nearest(*q, k=7)
        assert [n.id for n in got] == [f"c{i}" for i in order[:7]]
        assert [n.distance_m for n in got] == pytest.approx(d[order[:7]].tolist())
        r = float(rng.uniform(100, 4000))
        assert {n.id for n in index.within(*q, r)} == {f"c{i}" for i in np.flatnonzero(d <= r)}


def test_nearest_respects_max_radius_and_far_queries(city):
    _, _, index = city
    assert index.nearest(0.0, 0.0, k=3, max_radius_m=1000) == []
    far = index.nearest(0.0, 0.0, k=2)  # grows the search until it finds the city
    assert len(far) == 2 and far[0].distance_m <= far[1].distance_m


def test_antimeridian_and_pole():
    index = NearbyIndex(["east", "west", "pole"], [0.0, 0.0, 89.99], [179.999, -179.999, 10.0])
    assert {n.id for n in index.within(0.0, 180.0, 500)} == {"east", "west"}
    assert [n.id for n in index.nearest(90.0, -100.0, k=1)] == ["pole"]


def test_index_input_errors():
    with pytest.raises(InvalidCoordinate):
        NearbyIndex(["a"], [95.0], [0.0])
    with pytest.raises(InvalidCoordinate):
        NearbyIndex(["a", "b"], [1.0], [0.0])
    index = NearbyIndex(["a"], [1.0], [1.0])
    with pytest.raises(InvalidConfig):
        index.nearest(1.0, 1.0, k=0)
    with pytest.raises(InvalidCoordinate):
        index.within(100.0, 1.0, 10)


def test_cells_covering_contains_every_point_within_radius():
    rng = np.random.default_rng(5)
    for _ in range(300):
        lat, lon = float(rng.uniform(-80, 80)), float(rng.uniform(-180, 180))
        radius = float(rng.uniform(10, 20_000))
        level = int(rng.choice([10, 12, 14]))
        cover = set(cells_covering(lat, lon, radius, level))
        for bearing in range(0, 360, 15):
            p = destination(lat, lon, bearing, radius * float(rng.uniform(0, 1)))
            assert cell_of(*p, level) in cover


def test_bounding_box_holds_every_point_within_radius():
    rng = np.random.default_rng(6)
    for _ in range(300):
        lat, lon = float(rng.uniform(-89, 89)), float(rng.uniform(-180, 180))
        radius = float(rng.uniform(1, 100_000))
        box = bounding_box(lat, lon, radius)
        for bearing in range(0, 360, 10):
            plat, plon = destination(lat, lon, bearing, radius * float(rng.choice([1.0, rng.uniform(0, 1)])))
            if haversine_np(lat, lon, plat, plon) > radius:
                continue
            assert box.south <= plat <= box.north
            if box.west is not None and box.east is not None:
                inside = box.west <= plon <= box.east if box.west <= box.east else plon >= box.west or plon <= box.east
                assert inside, (lat, lon, radius, bearing)


def test_cells_near_antimeridian_and_pole():
    cover = set(cells_covering(10.0, 179.99, 5000, 14))
    assert cell_of(10.0, -179.99, 14) in cover
    across = bounding_box(10.0, 179.99, 5000)
    assert across.west > across.east  # crosses the antimeridian
    assert bounding_box(89.99, 0.0, 5000).west is None
    polar = cells_covering(89.99, 0.0, 5000, 10)
    assert len(polar) == (1 << 10) * len({c >> 10 for c in polar})
    assert cell_of(90.0, 180.0, 14) == cell_of(90.0, -180.0, 14)


def test_cell_sizes_and_levels():
    assert cell_size_deg(14) == pytest.approx(360 / 16384)
    assert len(cells_covering(31.2, 121.5, 3000, 14)) <= 20
    assert covering_level(3000) == 14
    assert covering_level(80_000) == 10
    assert cells_covering(31.2, 121.5, 0, 14) == [cell_of(31.2, 121.5, 14)]
    with pytest.raises(InvalidConfig):
        cell_of(1, 1, 31)
    with pytest.raises(InvalidConfig):
        cells_covering(1, 1, -5)
    assert math.isclose(cell_size_deg(1), 180.0)


def test_cells_drive_a_real_sqlite_nearby_query(tmp_path):
    import sqlite3

    from lbs.geo import haversine_m

    rng = np.random.default_rng(9)
    lat = 31.23 + rng.normal(0, 0.1, 5000)
    lon = 121.47 + rng.normal(0, 0.12, 5000)
    db = sqlite3.connect(tmp_path / "crm.db")
    db.execute(
        "CREATE TABLE customer (id INTEGER PRIMARY KEY, lat REAL, lon REAL, geo_cell_14 INTEGER, geo_cell_10 INTEGER)"
    )
    db.execute("CREATE INDEX ix_cell14 ON customer (geo_cell_14)")
    db.execute("CREATE INDEX ix_cell10 ON customer (geo_cell_10)")
    db.executemany(
        "INSERT INTO customer VALUES (?, ?, ?, ?, ?)",
        [
            (i, a, b, cell_of(a, b, 14), cell_of(a, b, 10))
            for i, (a, b) in enumerate(zip(lat.tolist(), lon.tolist(), strict=True))
        ],
    )
    for radius in (800.0, 3000.0, 40_000.0):
        q = (31.25, 121.45)
        level = covering_level(radius)
        cells = cells_covering(*q, radius, level)
        marks = ",".join("?" * len(cells))
        rows = db.execute(
            f"SELECT id, lat, lon FROM customer WHERE geo_cell_{level} IN ({marks})", cells
        ).fetchall()
        found = {i for i, a, b in rows if haversine_m(*q, a, b) <= radius}
        d = haversine_np(*q, lat, lon)
        assert found == set(np.flatnonzero(d <= radius).tolist())
        assert len(rows) < 5000 or radius > 10_000
    db.close()
