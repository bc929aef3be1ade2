"""Dispatcher live map: every rep in scope, refreshed every few seconds; customers as a clustered layer."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import func
from sqlmodel import Session, select

from crm.access import scope
from crm.customers import Customer
from crm.locations import RepPosition
from crm.org import User
from crm.types import utcnow
from dashboard.auth import page_roles
from dashboard.clusters import BBox, customer_layer
from dashboard.i18n import Translator, request_locale
from dashboard.maps import TILE_SOURCES, base_map, embed, remember_tiles, tiles_choice
from dashboard.nav import MANAGERS
from dashboard.web import render
from lbs.coords import CoordSystem, convert_many
from server.deps import SessionDep, SettingsDep
from server.locations.positions import Freshness, LiveReps, Motion, live_reps

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


# Columns of each rep row in ``/map/live.json`` (the page script reads them by position).
LIVE_FIELDS = (
    "id",
    "name",
    "lat",
    "lon",
    "time",
    "freshness",
    "state",
    "battery_pct",
    "charging",
    "visiting",
)


def live_payload(reps: LiveReps, coords: CoordSystem) -> bytes:
    """Compact JSON of the live reps: one array per rep, times as epoch seconds (the page works out
    ages itself), so that an unchanged fleet gives the same bytes and the same ETag. Built column by
    column (thousands of reps are polled every few seconds)."""
    c = reps.columns
    if coords is CoordSystem.WGS84:
        lats, lons = c["lat"], c["lon"]
    else:
        shown = np.array(convert_many(zip(c["lat"], c["lon"], strict=True), CoordSystem.WGS84, coords))
        lats, lons = shown.reshape(-1, 2).T.tolist() if len(reps) else ([], [])
    rows = zip(
        c["rep_user_id"],
        reps.names,
        np.round(np.array(lats, dtype=np.float64), 6).tolist(),
        np.round(np.array(lons, dtype=np.float64), 6).tolist(),
        (np.array(reps.time_us, dtype=np.int64) // 1_000_000).tolist(),
        [f.value for f in reps.freshness],
        [m.value for m in reps.motion],
        [None if b is None else round(b) for b in c["battery_pct"]],
        c["charging"],
        reps.visiting_customer_id,
        strict=True,
    )
    document = {"coords": coords.value, "fields": LIVE_FIELDS, "reps": list(rows)}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


@router.get("/map/live.json")
def live_positions(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: ManagerUser,
    coords: CoordSystem = CoordSystem.WGS84,
) -> Response:
    """The live map's polling source: the reps of ``live_reps``, compact, with an ETag (304 when unchanged)."""
    body = live_payload(live_reps(session, actor=user, settings=settings, now=utcnow()), coords)
    etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


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
    # Customers rarely move: panning back within half a minute reuses the browser's copy.
    return JSONResponse(layer, headers={"Cache-Control": "private, max-age=30"})
