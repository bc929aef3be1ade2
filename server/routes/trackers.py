"""Endpoints the tracker apps on the phones post to (docs/locations.md#trackers)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request, Response
from sqlmodel import Session

from crm.devices import Device
from crm.types import utcnow
from server.auth.lookup import DeviceTokens
from server.config import Settings
from server.deps import CurrentDevice, SessionDep, SettingsDep, device_secret, refused_device
from server.locations.config import fix_policy
from server.locations.incoming import IncomingFixes
from server.locations.ingest import ingest_fixes
from server.locations.trackers import device_by_identifier, osmand_fixes, owntracks_fixes, traccar_json_fixes
from server.logs import get_logger, log_event

router = APIRouter(prefix="/api/v1/trackers", tags=["trackers"])
logger = get_logger("locations")


async def _raw_body(request: Request) -> bytes:
    return await request.body()


RawBody = Annotated[bytes, Depends(_raw_body)]


def _store(session: Session, device: Device, fixes: IncomingFixes, settings: Settings, protocol: str) -> None:
    outcome = ingest_fixes(session, device=device, batch=fixes, policy=fix_policy(settings), now=utcnow())
    session.commit()
    log_event(logger, f"ingest.tracker.{protocol}", device_id=device.id, fixes=len(fixes),
              statuses=",".join(outcome.statuses()))


@router.post("/owntracks")
def owntracks(device: CurrentDevice, session: SessionDep, settings: SettingsDep, body: RawBody) -> list[Any]:
    """OwnTracks HTTP mode: one JSON message per POST with Basic auth (password: the device
    token). Answers ``[]`` (no commands). Only ``_type: location`` carries a fix."""
    fixes = owntracks_fixes(body, device)
    if len(fixes):
        _store(session, device, fixes, settings, "owntracks")
    return []


@router.get("/osmand", response_class=Response, operation_id="tracker_osmand_get")
@router.post("/osmand", response_class=Response, operation_id="tracker_osmand_post")
def osmand(request: Request, session: SessionDep, settings: SettingsDep, body: RawBody) -> Response:
    """OsmAnd / Traccar Client: query (or form) parameters, speed in knots; or the Traccar
    Client 9 JSON body. The device identifier is the device token (or send Authorization)."""
    if body and request.headers.get("content-type", "").startswith("application/json"):
        identifier, fixes = traccar_json_fixes(body)
    else:
        params = dict(request.query_params)
        if body:
            params.update(parse_qsl(body.decode("utf-8", "replace")))
        identifier, fixes = osmand_fixes(params, utcnow())
    tokens: DeviceTokens = request.app.state.device_tokens
    if request.headers.get("authorization"):
        device = tokens.device_in_thread(device_secret(request), now=utcnow())
        if device is None:
            raise refused_device()
    else:
        device = device_by_identifier(tokens, identifier, utcnow())
    _store(session, device, fixes, settings, "osmand")
    return Response(status_code=200)
