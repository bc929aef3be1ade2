"""Dispatcher live map: every rep in scope, refreshed every few seconds; customers as a clustered layer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import func
from sqlmodel import Session, select

from crm.access import scope
from crm.customers import Customer
from crm.locations import RepPosition
from crm.org import User
from dashboard.auth import page_roles
from dashboard.clusters import BBox, customer_layer
from dashboard.i18n import Translator, request_locale
from dashboard.maps import TILE_SOURCES, base_map, embed, remember_tiles, tiles_choice
from dashboard.nav import MANAGERS
from dashboard.web import render
from server.deps import SessionDep
from server.locations.positions import Freshness, Motion

router = APIRouter(include_in_schema=False)
ManagerUser = Annotated[User, Depends(page_roles(*MANAGERS))]

# Where a map with nothing on it opens (People's Square, Shanghai).
DEFAULT_CENTER = (31.2304, 121.4737)


def map_center(session: Session, actor: User) -> tuple[float, float]:
    """The middle of the reps the actor sees, else of their customers, else the default."""
    for model in (RepPosition, Customer):
        stmt = scope(select(func.avg(model.lat), func.avg(model.lon)), actor, model).where(
            model.lat.is_not(None)
        )
        lat, lon = session.exec(stmt).one()
        if lat is not None and lon is not None:
            return float(lat), float(lon)
    return DEFAULT_CENTER


@router.get("/map", response_class=HTMLResponse)
def live_map(
    request: Request,
    session: SessionDep,
    user: ManagerUser,
    refresh: int = Query(default=5, ge=1, le=60, description="Seconds between position updates."),
) -> Response:
    tiles = tiles_choice(request)
    fmap = base_map(map_center(session, user), 12, tiles)
    t = Translator(request_locale(request, user))
    response = render(
        request,
        "live_map.html",
        user=user,
        map=embed(fmap),
        tiles=tiles,
        coords=TILE_SOURCES[tiles].crs.value,
        refresh=refresh,
        freshness=list(Freshness),
        motions=list(Motion),
        messages=t.messages("live") | t.messages("dispatch"),
    )
    return remember_tiles(request, response)


@router.get("/map/customers.geojson")
def customers_geojson(
    request: Request,
    session: SessionDep,
    user: ManagerUser,
    bbox: str = Query(max_length=120, description="south,west,north,east in the page's map coordinates"),
    zoom: int = Query(ge=0, le=22),
) -> Response:
    tiles = tiles_choice(request)
    try:
        box = BBox.parse(bbox).from_display(TILE_SOURCES[tiles].crs)
    except ValueError as exc:
        return JSONResponse({"detail": str(exc), "field": "bbox"}, status_code=422)
    layer: dict[str, Any] = customer_layer(session, user, box, zoom, tiles)
    return JSONResponse(layer)
