"""Check-ins at customers (docs/locations.md#check-ins)."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Query, Response
from fastapi.responses import FileResponse, JSONResponse
from pydantic import AwareDatetime, Field

from crm.errors import DomainError, NotFound
from crm.locations import Checkin
from crm.types import utcnow
from lbs.coords import CoordSystem, convert
from lbs.errors import LbsError
from server.deps import CurrentUser, SessionDep, SettingsDep
from server.locations.checkins import CheckinData, create_checkin, list_checkins, visible_checkin
from server.locations.config import checkin_policy
from server.locations.photos import decode_photo, photo_path
from server.routes.schemas import Read, Strict

router = APIRouter(prefix="/api/v1/checkins", tags=["checkins"])


class CheckinIn(Strict):
    customer_id: int
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    coords: CoordSystem = Field(default=CoordSystem.WGS84, description="System of lat/lon (gcj02 from Chinese maps).")
    accuracy_m: float | None = Field(default=None, ge=0, le=1e6, description="Phone GPS accuracy (68 %), metres.")
    mock: bool = Field(default=False, description="Android reported a mock location provider.")
    occurred_at: AwareDatetime | None = Field(default=None, description="When the fix was taken; default: now.")
    note: str = Field(default="", max_length=1000)
    photo: str | None = Field(default=None, description="Base64 JPEG/PNG/WebP, or a data: URL.")
    client_key: str | None = Field(default=None, min_length=1, max_length=64,
                                   description="The phone's own id for this check-in: a retry returns the first.")


class CheckinRead(Read):
    id: int
    customer_id: int
    rep_user_id: int
    occurred_at: datetime
    lat: float
    lon: float
    accuracy_m: float | None
    mock: bool
    status: str
    distance_m: float | None
    radius_m: float | None
    reason: str
    note: str
    photo: bool = False


def _read(row: Checkin) -> CheckinRead:
    return CheckinRead.model_validate(row).model_copy(update={"photo": row.photo_sha256 is not None})


@router.post("", response_model=CheckinRead, status_code=201,
             responses={200: {"model": CheckinRead, "description": "A retry of a stored check-in."}})
def post_checkin(body: CheckinIn, session: SessionDep, user: CurrentUser, settings: SettingsDep) -> JSONResponse:
    """Check in at a customer. Status ``ok`` / ``outside_geofence`` / ``low_accuracy`` /
    ``suspected_mock`` (``unverified`` when the customer has no coordinates); never refused."""
    now = utcnow()
    try:
        lat, lon = convert(body.lat, body.lon, body.coords, CoordSystem.WGS84)
    except LbsError as exc:
        raise DomainError(str(exc), field="lat") from exc
    occurred = body.occurred_at or now
    if occurred > now + timedelta(seconds=settings.location_future_tolerance_s):
        raise DomainError("occurred_at is in the future", field="occurred_at")
    photo = decode_photo(body.photo, settings.checkin_max_photo_bytes) if body.photo else None
    data = CheckinData(body.customer_id, lat, lon, body.accuracy_m, body.mock, occurred, body.note,
                       body.client_key, photo)
    row, created = create_checkin(session, actor=user, data=data, policy=checkin_policy(settings),
                                  photo_root=settings.data_dir, now=now)
    return JSONResponse(_read(row).model_dump(mode="json"), status_code=201 if created else 200)


@router.get("", response_model=list[CheckinRead])
def get_checkins(
    session: SessionDep, user: CurrentUser, rep_id: int | None = None, customer_id: int | None = None,
    since: AwareDatetime | None = None, until: AwareDatetime | None = None, limit: int = Query(200, ge=1, le=2000),
) -> list[CheckinRead]:
    """Visible check-ins, newest first."""
    rows = list_checkins(session, actor=user, rep_id=rep_id, customer_id=customer_id, since=since, until=until,
                         limit=limit)
    return [_read(r) for r in rows]


@router.get("/{checkin_id}", response_model=CheckinRead)
def get_checkin(checkin_id: int, session: SessionDep, user: CurrentUser) -> CheckinRead:
    return _read(visible_checkin(session, actor=user, checkin_id=checkin_id))


@router.get("/{checkin_id}/photo", response_class=Response)
def get_photo(checkin_id: int, session: SessionDep, user: CurrentUser, settings: SettingsDep) -> FileResponse:
    row = visible_checkin(session, actor=user, checkin_id=checkin_id)
    path = photo_path(settings.data_dir, row.photo_sha256) if row.photo_sha256 else None
    if path is None or not path.exists():
        raise NotFound("this check-in has no photo")
    return FileResponse(path, media_type=row.photo_type or "application/octet-stream")
