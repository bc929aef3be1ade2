"""Customers within R of a point and the K nearest, inside SQL on both backends.

``customer.geocell`` (crm.geo) is an integer cell key, indexed with the position after it
(``crm.geo.POSITION_INDEX``). A query turns the circle into the cells that may hold a point
within R and its latitude/longitude bounding box (lbs.cells), reads each cell's latitude
band from that index alone (cells as an ``IN`` list; a very long list as ranges of
consecutive cells instead), and measures exact distances on those candidates.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from sqlalchemy import ColumnElement, and_, or_, select
from sqlmodel import Session

from crm.access import scope
from crm.customers import Customer
from crm.errors import DomainError
from crm.geo import GEOCELL_LEVEL
from crm.org import User
from lbs.cells import Box, bounding_box, cells_covering
from lbs.errors import LbsError
from lbs.geo import haversine_np

#: Largest radius a query may ask for (and how far "nearest" looks).
MAX_RADIUS_M = 100_000.0
_FIRST_RADIUS_M = 1_000.0
#: Longest cell list sent as ``IN`` (a 100 km circle at 30° N covers ~8,000 cells of level 14).
_MAX_IN_CELLS = 10_000


@dataclass(frozen=True, slots=True)
class NearCustomer:
    id: int
    name: str
    lat: float
    lon: float
    distance_m: float
    owner_id: int | None
    checkin_radius_m: float | None


def _ranges(cells: list[int]) -> list[tuple[int, int]]:
    """Sorted cell ids → runs of consecutive ids (first, last)."""
    runs = []
    for _, group in itertools.groupby(enumerate(cells), key=lambda p: p[1] - p[0]):
        ids = [c for _, c in group]
        runs.append((ids[0], ids[-1]))
    return runs


def _in_cells(cells: list[int]) -> ColumnElement[bool]:
    """Each cell an index seek (``IN``), within the drivers' parameter limits; runs of
    consecutive cells beyond that (circles near a pole span thousands of cells)."""
    column = Customer.geocell
    if len(cells) <= _MAX_IN_CELLS:
        return column.in_(cells)
    return or_(*(column == a if a == b else and_(column >= a, column <= b) for a, b in _ranges(cells)))


def _in_box(box: Box) -> list[ColumnElement[bool]]:
    where = [Customer.lat >= box.south, Customer.lat <= box.north]
    if box.west is not None and box.east is not None:
        if box.west <= box.east:
            where += [Customer.lon >= box.west, Customer.lon <= box.east]
        else:  # across the antimeridian
            where.append(or_(Customer.lon >= box.west, Customer.lon <= box.east))
    return where


def customers_within(
    session: Session, *, actor: User, lat: float, lon: float, radius_m: float, limit: int | None = None
) -> list[NearCustomer]:
    """Visible customers within ``radius_m`` of (lat, lon), nearest first."""
    if not (math.isfinite(radius_m) and 0 <= radius_m <= MAX_RADIUS_M):
        raise DomainError(f"radius_m must be between 0 and {MAX_RADIUS_M:.0f}", field="radius_m")
    try:
        cells = cells_covering(lat, lon, radius_m, GEOCELL_LEVEL)
        box = bounding_box(lat, lon, radius_m)
    except LbsError as exc:
        raise DomainError(str(exc), field=exc.field or "lat") from exc
    # Candidates from the position index alone (so the planner drives the query from it),
    # then exact distances, then the access scope on the few that are inside.
    near = session.execute(
        select(Customer.id, Customer.lat, Customer.lon).where(
            _in_cells(cells), *_in_box(box), Customer.merged_into_id.is_(None)
        )
    ).all()
    if not near:
        return []
    la = np.fromiter((r[1] for r in near), dtype=np.float64, count=len(near))
    lo = np.fromiter((r[2] for r in near), dtype=np.float64, count=len(near))
    dist = haversine_np(lat, lon, la, lo)
    inside = {near[i][0]: float(dist[i]) for i in np.flatnonzero(dist <= radius_m).tolist()}
    if not inside:
        return []
    visible = session.execute(scope(
        select(Customer.id, Customer.name, Customer.lat, Customer.lon, Customer.owner_id, Customer.checkin_radius_m)
        .where(Customer.id.in_(list(inside))), actor, Customer,
    )).all()
    found = sorted(
        (NearCustomer(r[0], r[1], r[2], r[3], inside[r[0]], r[4], r[5]) for r in visible),
        key=lambda c: (c.distance_m, c.id),
    )
    return found if limit is None else found[:limit]


def nearest_customers(
    session: Session, *, actor: User, lat: float, lon: float, k: int, max_radius_m: float = MAX_RADIUS_M
) -> list[NearCustomer]:
    """The ``k`` nearest visible customers within ``max_radius_m``, nearest first.

    The search circle doubles until it holds ``k`` customers: everything outside a circle
    is farther than everything inside it, so those are the true nearest.
    """
    if k < 1:
        raise DomainError("k must be at least 1", field="k")
    limit = min(max_radius_m, MAX_RADIUS_M)
    radius = min(_FIRST_RADIUS_M, limit)
    while True:
        found = customers_within(session, actor=actor, lat=lat, lon=lon, radius_m=radius, limit=k)
        if len(found) >= k or radius >= limit:
            return found
        radius = min(limit, radius * 2)
