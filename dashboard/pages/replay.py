"""Trajectory replay (managers): a rep's day — track, stops, check-ins, planned route, figures, anomalies."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import folium
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from crm.errors import NotFound
from crm.org import User
from crm.types import utcnow
from dashboard.auth import page_roles
from dashboard.i18n import Translator, request_locale
from dashboard.lookups import visible_reps
from dashboard.maps import TILE_SOURCES, Tiles, base_map, embed, remember_tiles, tiles_choice
from dashboard.nav import MANAGERS
from dashboard.pages.live_map import map_center
from dashboard.web import error_page, local_now, render
from server.deps import SessionDep, SettingsDep
from server.locations.days import rep_day
from server.locations.views import RepDayRead, rep_day_view

router = APIRouter(include_in_schema=False)
ManagerUser = Annotated[User, Depends(page_roles(*MANAGERS))]


def replay_map(view: RepDayRead | None, tiles: Tiles, fallback: tuple[float, float]) -> folium.Map:
    """The base map fitted to the day; the page script draws the track, the plan and the markers from
    the day's JSON (so the track is sent once, not also as folium's script).

    Coordinates in ``view`` are already in the tiles' system, so the bounds are given as such.
    """
    fmap = base_map(fallback, 12, tiles)
    if view is None:
        return fmap
    points = (
        [(lat, lon) for lon, lat in view.track["coordinates"]]
        + [(v["lat"], v["lon"]) for v in (view.plan or {}).get("visits", []) if v["lat"] is not None]
        + [(s["lat"], s["lon"]) for s in view.stops]
        + [(c["lat"], c["lon"]) for c in view.checkins]
    )
    if points:
        lats, lons = [p[0] for p in points], [p[1] for p in points]
        fmap.fit_bounds(
            [[min(lats), min(lons)], [max(lats), max(lons)]],
            padding_top_left=(30, 70),
            padding_bottom_right=(30, 80),
        )
    return fmap


@router.get("/replay", response_class=HTMLResponse)
def replay(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: ManagerUser,
    rep: int | None = Query(default=None),
    day: date | None = Query(default=None),
) -> Response:
    tiles = tiles_choice(request)
    chosen_day = day or local_now(request).date()
    view = None
    if rep is not None:
        try:
            found = rep_day(session, actor=user, rep_id=rep, day=chosen_day, settings=settings, now=utcnow())
        except NotFound:
            return error_page(request, user, 404)
        view = rep_day_view(found, TILE_SOURCES[tiles].crs)
    fmap = replay_map(view, tiles, map_center(session, user))
    t = Translator(request_locale(request, user))
    response = render(
        request,
        "replay.html",
        user=user,
        reps=visible_reps(session, user),
        rep_id=rep,
        day=chosen_day,
        view=view,
        view_json=view.model_dump(mode="json") if view else None,
        map=embed(fmap),
        tiles=tiles,
        messages=t.messages("replay") | t.messages("checkin"),
    )
    return remember_tiles(request, response)
