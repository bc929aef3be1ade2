"""Location ingestion from the device agent, the live map, and a rep's day (docs/locations.md)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from crm.types import utcnow
from server.deps import CurrentDevice, SessionDep, SettingsDep
from server.locations.config import filter_config
from server.locations.ingest import ingest_batch
from server.locations.records import LocationBatchIn, LocationBatchResult

router = APIRouter(prefix="/api/v1", tags=["locations"])


@router.post("/ingest/locations", response_model=LocationBatchResult, response_model_exclude_none=True)
def post_locations(
    body: LocationBatchIn, device: CurrentDevice, session: SessionDep, settings: SettingsDep
) -> JSONResponse:
    """A batch of fixes (``LocationIn``); per-record results in input order. Stored fixes carry
    their filter verdict in ``fix_status``; fixes outside tracking hours are ``excluded``."""
    result = ingest_batch(
        session, device=device, records=body.records, config=filter_config(settings),
        stop_radius_m=settings.stop_radius_m, max_batch=settings.ingest_max_batch, now=utcnow(),
    )
    return JSONResponse(result)
