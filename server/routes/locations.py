"""Location ingestion from the device agent, the live map, nearby customers and a rep's day
(docs/locations.md)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic_core import to_json

from crm.errors import DomainError
from crm.types import utcnow
from lbs.coords import CoordSystem, convert
from lbs.errors import LbsError
from server.deps import CurrentDevice, CurrentUser, SessionDep, SettingsDep
from server.locations.config import fix_policy
from server.locations.days import rep_day
from server.locations.ingest import ingest_batch
from server.locations.nearby import MAX_RADIUS_M, customers_within, nearest_customers
from server.locations.positions import GEOJSON_COLUMNS, as_geojson, live_reps
from server.locations.records import BATCH_SCHEMA, LocationBatchResult
from server.locations.views import NearCustomerRead, RepDayRead, near_view, rep_day_view
from server.routes.trackers import RawBody

router = APIRouter(prefix="/api/v1", tags=["locations"])

Coords = Query(CoordSystem.WGS84, description="Coordinate system of lat/lon in and out: wgs84, gcj02 or bd09.")


@router.post(
    "/ingest/locations", response_model=LocationBatchResult, response_model_exclude_none=True,
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": BATCH_SCHEMA}}}},
)
def post_locations(device: CurrentDevice, session: SessionDep, settings: SettingsDep, body: RawBody) -> Response:
    """A batch of fixes (``LocationIn``); per-record results in input order. Stored fixes carry
    their filter verdict in ``fix_status``; fixes outside tracking hours are ``excluded``."""
    outcome = ingest_batch(
        session, device=device, body=body, policy=fix_policy(settings),
        max_batch=settings.ingest_max_batch, now=utcnow(),
    )
    return Response(outcome.to_json(), media_type="application/json")


@router.get("/locations/live", response_class=Response)
def live(session: SessionDep, user: CurrentUser, settings: SettingsDep, coords: CoordSystem = Coords) -> Response:
    """Latest position of every visible rep as GeoJSON: freshness (fresh/stale/offline), state
    (moving/stopped/visiting), battery.

    Encoded in one pass (``pydantic_core.to_json``): for 2,000 reps, validating and re-encoding
    the plain dict through a response model cost more than building it."""
    found = live_reps(session, actor=user, settings=settings, now=utcnow(), columns=GEOJSON_COLUMNS)
    return Response(to_json(as_geojson(found, coords)), media_type="application/json")


def _wgs84(lat: float, lon: float, coords: CoordSystem) -> tuple[float, float]:
    try:
        return convert(lat, lon, coords, CoordSystem.WGS84)
    except LbsError as exc:
        raise DomainError(str(exc), field="lat") from exc


@router.get("/locations/customers/nearby", response_model=list[NearCustomerRead])
def nearby(
    session: SessionDep, user: CurrentUser, lat: float, lon: float,
    radius_m: float = Query(1000.0, ge=0, le=MAX_RADIUS_M), limit: int = Query(200, ge=1, le=5000),
    coords: CoordSystem = Coords,
) -> list[NearCustomerRead]:
    """Visible customers within ``radius_m`` of the point, nearest first."""
    lat, lon = _wgs84(lat, lon, coords)
    return near_view(customers_within(session, actor=user, lat=lat, lon=lon, radius_m=radius_m, limit=limit), coords)


@router.get("/locations/customers/nearest", response_model=list[NearCustomerRead])
def nearest(
    session: SessionDep, user: CurrentUser, lat: float, lon: float, k: int = Query(10, ge=1, le=500),
    max_radius_m: float = Query(MAX_RADIUS_M, gt=0, le=MAX_RADIUS_M), coords: CoordSystem = Coords,
) -> list[NearCustomerRead]:
    """The ``k`` nearest visible customers, nearest first."""
    lat, lon = _wgs84(lat, lon, coords)
    found = nearest_customers(session, actor=user, lat=lat, lon=lon, k=k, max_radius_m=max_radius_m)
    return near_view(found, coords)


@router.get("/locations/reps/{rep_id}/days/{day}", response_model=RepDayRead)
def get_rep_day(
    rep_id: int, day: date, session: SessionDep, user: CurrentUser, settings: SettingsDep,
    coords: CoordSystem = Coords,
) -> RepDayRead:
    """A rep's day: simplified track, stops (with the customer visited), trips, gaps,
    check-ins, anomalies, figures, and the day's plan against what happened."""
    return rep_day_view(rep_day(session, actor=user, rep_id=rep_id, day=day, settings=settings, now=utcnow()), coords)
