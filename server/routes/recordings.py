"""Recordings for users: list, details (transcript) and audited playback with HTTP Range."""

from __future__ import annotations

import mimetypes
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import Field
from sqlmodel import Session, select

from capture.phone import mask
from crm.access import scope, sees_full_numbers
from crm.audit import record_audit
from crm.communications import LinkStatus, Recording
from crm.customers import Customer
from crm.org import User
from crm.types import utcnow
from server.deps import CurrentUser, SessionDep, SettingsDep, client_ip
from server.ingest.phone_book import phone_contact_labels
from server.ingest.reassign import set_recording_call
from server.recordings.playback import RangeNotSatisfiable, byte_range, visible_recording
from server.recordings.store import get_store
from server.routes.schemas import Read, Strict

router = APIRouter(prefix="/api/v1/recordings", tags=["recordings"])


class RecordingRead(Read):
    id: int
    device_id: int
    rep_user_id: int | None
    occurred_at: datetime
    time_known: bool
    number: str
    link_status: str
    customer_id: int | None
    call_id: int | None
    file_name: str
    oem: str
    size_bytes: int
    duration_s: float | None
    audio_format: str | None
    transcript_status: str
    transcript: str | None
    problems: dict[str, str]
    phone_contact: str | None = None  # the phone's own phone-book name of an unlinked number


def _read(
    recording: Recording, actor: User, owner_id: int | None, phone_contact: str | None = None
) -> RecordingRead:
    number = recording.number_e164 or recording.number_raw
    if number and not sees_full_numbers(actor, owner_id):
        number = mask(number)
    computed = {"number", "phone_contact"}
    fields = {name: getattr(recording, name) for name in RecordingRead.model_fields if name not in computed}
    return RecordingRead.model_validate(fields | {"number": number, "phone_contact": phone_contact})


def _labels(session: Session, recordings: list[Recording]) -> dict[tuple[int, str], str]:
    return phone_contact_labels(
        session,
        {
            (rec.device_id, rec.number_e164)
            for rec in recordings
            if rec.number_e164 and rec.link_status == LinkStatus.unlinked
        },
    )


@router.get("", response_model=list[RecordingRead])
def list_recordings(
    session: SessionDep,
    user: CurrentUser,
    unmatched: bool = Query(default=False, description="Only recordings not matched to a call."),
    customer_id: int | None = None,
    before_id: int | None = None,
    limit: int = Query(default=50, ge=1, le=500),
) -> list[RecordingRead]:
    stmt = select(Recording).order_by(Recording.id.desc()).limit(limit)
    if unmatched:
        stmt = stmt.where(Recording.call_id.is_(None))
    if customer_id is not None:
        stmt = stmt.where(Recording.customer_id == customer_id)
    if before_id is not None:
        stmt = stmt.where(Recording.id < before_id)
    recordings = list(session.exec(scope(stmt, user, Recording)))
    wanted = {rec.customer_id for rec in recordings if rec.customer_id is not None}
    owners = dict(session.exec(select(Customer.id, Customer.owner_id).where(Customer.id.in_(wanted))).all())
    labels = _labels(session, recordings)
    return [
        _read(rec, user, owners.get(rec.customer_id), labels.get((rec.device_id, rec.number_e164 or "")))
        for rec in recordings
    ]


@router.get("/{recording_id}", response_model=RecordingRead)
def get_recording(recording_id: int, session: SessionDep, user: CurrentUser) -> RecordingRead:
    recording, customer = visible_recording(session, user, recording_id)
    label = _labels(session, [recording]).get((recording.device_id, recording.number_e164 or ""))
    return _read(recording, user, customer.owner_id if customer else None, label)


class RecordingCallIn(Strict):
    call_id: int | None = Field(description="A call of the same phone without a recording; null unmatches.")


@router.put("/{recording_id}/call", response_model=RecordingRead)
def put_recording_call(
    recording_id: int,
    body: RecordingCallIn,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
) -> RecordingRead:
    """Managers of the recording's division: match it to another call by hand, or unmatch it (audited)."""
    recording = set_recording_call(
        session,
        actor=user,
        recording_id=recording_id,
        call_id=body.call_id,
        region=settings.default_region,
        now=utcnow(),
        ip=client_ip(request),
    )
    return _read(recording, user, None)


@router.get("/{recording_id}/audio", response_model=None)
def play_recording(
    recording_id: int, request: Request, session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> Any:
    """The audio, whole or one ``Range``; a playback (a request from byte 0) is audited."""
    recording, _customer = visible_recording(session, user, recording_id)
    store = get_store(settings)
    size = store.size(recording.sha256)
    try:
        wanted = byte_range(request.headers.get("range"), size)
    except RangeNotSatisfiable as error:
        return JSONResponse(
            {"detail": error.detail, "field": error.field},
            status_code=416,
            headers={"Content-Range": f"bytes */{size}"},
        )
    start, end = wanted or (0, size - 1)
    if start == 0:
        record_audit(
            session,
            action="recording.play",
            actor_user_id=user.id,
            target_type="recording",
            target_id=recording.id or "",
            division_id=recording.division_id,
            ip=client_ip(request),
            detail={"range": request.headers.get("range") or "all"},
        )
        session.commit()
    headers = {"Accept-Ranges": "bytes", "Content-Length": str(end - start + 1)}
    if wanted is not None:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    media_type = mimetypes.guess_type(recording.file_name)[0] or "application/octet-stream"
    return StreamingResponse(
        store.read(recording.sha256, start, end),
        status_code=206 if wanted else 200,
        headers=headers,
        media_type=media_type,
    )
