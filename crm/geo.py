"""Customer coordinates and their ``geocell`` index key (the SQL side of "nearby").

Whoever changes a customer's (or customer address's) lat/lon calls :func:`set_position`
so that ``geocell`` stays in step; nearby/nearest queries (server.locations.nearby) read
the cells' bounding-box slices of :data:`POSITION_INDEX` alone (no table rows), then
measure exact distances.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Index

from crm.customers import Customer
from crm.errors import DomainError
from lbs.cells import DEFAULT_LEVEL, cell_of
from lbs.errors import LbsError

#: Level of the cells stored in ``geocell`` (≈ 2.4 km × 2.1 km at 30° N); see lbs.cells.
GEOCELL_LEVEL = DEFAULT_LEVEL

#: Cell, then position: a query seeks each cell at its latitude band and reads id, lat and lon
#: (and whether the customer was merged away) from the index entries.
POSITION_INDEX = Index(
    "ix_customer_geocell_position",
    Customer.__table__.c.geocell,
    Customer.__table__.c.lat,
    Customer.__table__.c.lon,
    Customer.__table__.c.merged_into_id,
    Customer.__table__.c.id,
)


class Located(Protocol):
    lat: float | None
    lon: float | None
    geocell: int | None


def geocell(lat: float | None, lon: float | None, *, field: str = "lat") -> int | None:
    """The cell key of a WGS-84 point; None without coordinates; DomainError when they are invalid."""
    if lat is None and lon is None:
        return None
    if lat is None or lon is None:
        raise DomainError("give both lat and lon, or neither", field=field, code="geo.lat_lon_pair")
    try:
        return cell_of(lat, lon, GEOCELL_LEVEL)
    except LbsError as exc:
        raise DomainError(
            f"invalid coordinates: {exc}",
            field=field,
            code="geo.invalid_coordinates",
            params={"reason": str(exc)},
        ) from exc


def set_position(row: Located, lat: float | None, lon: float | None, *, field: str = "lat") -> None:
    """Set lat/lon and the matching geocell on a customer (or address) row; the caller commits."""
    row.geocell = geocell(lat, lon, field=field)
    row.lat, row.lon = lat, lon
