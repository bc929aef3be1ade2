"""Map builders: folium maps whose Leaflet comes from this server, on OSM or Gaode tiles.

Data is stored in WGS-84. Gaode tiles are drawn in GCJ-02, so every point shown on them
is shifted first (:func:`display_points`); OSM needs no shift. The page chooses the
tiles (``?tiles=gaode``, remembered in a cookie) and everything it draws — the folium
layers and the JSON its scripts fetch — is converted for that choice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

import folium
import xyzservices.providers as xyz
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from lbs.coords import CoordSystem, convert_many

TILES_COOKIE = "fieldcrm_tiles"
LEAFLET_URL = "/static/vendor/leaflet"
# folium's default assets come from CDNs; our pages load only these, served by us.
LOCAL_JS = [("leaflet", f"{LEAFLET_URL}/leaflet.js")]
LOCAL_CSS = [("leaflet_css", f"{LEAFLET_URL}/leaflet.css")]


class Tiles(StrEnum):
    osm = "osm"
    gaode = "gaode"


@dataclass(frozen=True)
class TileSource:
    url: str
    attribution: str
    subdomains: str
    crs: CoordSystem
    max_zoom: int


TILE_SOURCES = {
    Tiles.osm: TileSource(
        url=xyz.OpenStreetMap.Mapnik.build_url(),
        attribution=xyz.OpenStreetMap.Mapnik.html_attribution,
        subdomains="abc",
        crs=CoordSystem.WGS84,
        max_zoom=19,
    ),
    Tiles.gaode: TileSource(
        url=xyz.Gaode.Normal.build_url().replace("webrd01", "webrd0{s}"),
        attribution=xyz.Gaode.Normal.html_attribution,
        subdomains="1234",
        crs=CoordSystem.GCJ02,
        max_zoom=18,
    ),
}


def tile_hosts() -> list[str]:
    """Origins the pages may load map images from (for the Content-Security-Policy)."""
    hosts = []
    for source in TILE_SOURCES.values():
        parts = urlsplit(source.url.replace("{s}", "1"))
        host = parts.netloc.replace("webrd01", "*")
        hosts.append(f"{parts.scheme}://{host}")
    return hosts


def tiles_choice(request: Request) -> Tiles:
    value = request.query_params.get("tiles") or request.cookies.get(TILES_COOKIE) or Tiles.osm
    return Tiles(value) if value in Tiles.__members__ else Tiles.osm


def display_points(points: Iterable[tuple[float, float]], tiles: Tiles) -> list[tuple[float, float]]:
    """WGS-84 (lat, lon) pairs in the coordinate system of the chosen tiles, rounded to ~1 m."""
    converted = convert_many(points, CoordSystem.WGS84, TILE_SOURCES[tiles].crs)
    return [(round(lat, 6), round(lon, 6)) for lat, lon in converted]


def display_point(lat: float, lon: float, tiles: Tiles) -> tuple[float, float]:
    return display_points([(lat, lon)], tiles)[0]


def base_map(center: tuple[float, float], zoom: int, tiles: Tiles) -> folium.Map:
    """A map centred on a WGS-84 point, with one tile layer and local Leaflet assets."""
    lat, lon = display_point(center[0], center[1], tiles)
    fmap = folium.Map(
        location=[lat, lon], zoom_start=zoom, tiles=None, prefer_canvas=True, control_scale=True
    )
    fmap.default_js = list(LOCAL_JS)
    fmap.default_css = list(LOCAL_CSS)
    source = TILE_SOURCES[tiles]
    folium.TileLayer(
        tiles=source.url,
        attr=source.attribution,
        name=tiles.value,
        subdomains=source.subdomains,
        max_zoom=source.max_zoom,
        max_native_zoom=source.max_zoom,
    ).add_to(fmap)
    return fmap


@dataclass(frozen=True)
class MapEmbed:
    """The parts of a folium map a page template places: the map element and its script.

    The folium document head is not used: the page layout loads Leaflet itself.
    """

    name: str
    html: Markup
    script: Markup


def embed(fmap: folium.Map) -> MapEmbed:
    root = fmap.get_root()
    root.render()
    return MapEmbed(
        name=fmap.get_name(),
        html=Markup(root.html.render()),
        script=Markup(root.script.render()),
    )


def remember_tiles(request: Request, response: Response) -> Response:
    """Keep an explicit ``?tiles=`` choice for the next map page."""
    chosen = request.query_params.get("tiles")
    if chosen in Tiles.__members__:
        response.set_cookie(TILES_COOKIE, chosen, max_age=365 * 86400, samesite="lax", httponly=True)
    return response
