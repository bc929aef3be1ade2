"""The customers layer of the maps: server-side grid clustering, so 100k customers stay light.

At a given zoom the visible box is cut into square cells of about ``CELL_PX`` screen pixels;
the database counts the customers in each cell (one GROUP BY over the scoped query, on a
single integer cell key).
A cell with one customer becomes that customer's point; from ``POINTS_FROM_ZOOM`` on
every customer is a point (the box is small by then).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, cast, func
from sqlmodel import Session, select

from crm.access import scope
from crm.customers import Customer
from crm.org import User
from dashboard.maps import Tiles, display_point
from lbs.coords import CoordSystem, convert

CELL_PX = 72
POINTS_FROM_ZOOM = 16
MAX_POINTS = 2000


@dataclass(frozen=True)
class BBox:
    """WGS-84 box; ``from_display`` undoes the tile shift of a box read off the map."""

    south: float
    west: float
    north: float
    east: float

    @classmethod
    def parse(cls, text: str) -> BBox:
        parts = [float(v) for v in text.split(",")]
        if len(parts) != 4:
            raise ValueError("bbox is south,west,north,east")
        south, west, north, east = parts
        if not (-90 <= south <= north <= 90 and -180 <= west <= east <= 180):
            raise ValueError("bbox out of range or inverted")
        return cls(south, west, north, east)

    def from_display(self, crs: CoordSystem) -> BBox:
        south, west = convert(self.south, self.west, crs, CoordSystem.WGS84)
        north, east = convert(self.north, self.east, crs, CoordSystem.WGS84)
        return BBox(south, west, north, east)


def cell_deg(zoom: int) -> float:
    """Degrees of longitude spanned by ``CELL_PX`` pixels at this zoom (256-px tiles)."""
    return 360.0 / (256 * 2**zoom) * CELL_PX


def cell_key(size: float) -> ColumnElement[int]:
    """One integer per grid cell of ``size`` degrees (row × 2²² + column): a single integer key
    groups about twice as fast as two rounded floats."""
    per_degree = 1.0 / size
    row = cast((Customer.lat + 90.0) * per_degree, BigInteger)
    col = cast((Customer.lon + 180.0) * per_degree, BigInteger)
    return row * (1 << 22) + col


def _located(actor: User, box: BBox):  # type: ignore[no-untyped-def]
    return lambda stmt: scope(stmt, actor, Customer).where(
        Customer.merged_into_id.is_(None),
        Customer.lat.between(box.south, box.north),
        Customer.lon.between(box.west, box.east),
    )


def _point(
    customer_id: int, name: str, owner_id: int | None, lat: float, lon: float, tiles: Tiles
) -> dict[str, Any]:
    dlat, dlon = display_point(lat, lon, tiles)
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [dlon, dlat]},
        "properties": {"id": customer_id, "name": name, "in_pool": owner_id is None, "count": 1},
    }


def customer_layer(session: Session, actor: User, box: BBox, zoom: int, tiles: Tiles) -> dict[str, Any]:
    """GeoJSON of clusters (``properties.count`` > 1) and single customers inside ``box``."""
    where = _located(actor, box)
    columns = (Customer.id, Customer.name, Customer.owner_id, Customer.lat, Customer.lon)
    if zoom >= POINTS_FROM_ZOOM:
        rows = session.exec(where(select(*columns)).order_by(Customer.id).limit(MAX_POINTS)).all()
        return {"type": "FeatureCollection", "features": [_point(*row, tiles) for row in rows]}
    cells = session.exec(
        where(
            select(func.count(), func.avg(Customer.lat), func.avg(Customer.lon), func.min(Customer.id))
        ).group_by(cell_key(cell_deg(zoom)))
    ).all()
    singles = [first for count, _, _, first in cells if count == 1]
    single_rows = session.exec(select(*columns).where(Customer.id.in_(singles))).all() if singles else []
    features = [_point(*row, tiles) for row in single_rows]
    for count, lat, lon, _first in cells:
        if count > 1:
            dlat, dlon = display_point(float(lat), float(lon), tiles)
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [dlon, dlat]},
                    "properties": {"count": int(count)},
                }
            )
    return {"type": "FeatureCollection", "features": features}
