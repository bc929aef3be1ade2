"""Ingestion API for the device agent (device-token auth), plus the capture exclusion list and the
quarantine for users. The contract is documented in docs/ingestion.md."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response
from pydantic import Field
from sqlmodel import select
from starlette.concurrency import run_in_threadpool

from crm.access import scope
from crm.communications import CaptureSource, ExcludedNumber, ExclusionKind, LinkStatus, QuarantinedRecord
from crm.devices import Device
from crm.errors import Conflict, DomainError
from crm.org import Role, User
from crm.types import utcnow
from server.config import Settings
from server.deps import CurrentDevice, CurrentUser, SessionDep, SettingsDep, client_ip, require_roles
from server.ingest.browse import CommunicationView, Kind, list_communications
from server.ingest.contacts import ingest_contacts
from server.ingest.device_status import DeviceStatusResult, record_device_status
from server.ingest.phone_book import EntryToCustomer, EntryView, customer_from_entry, list_entries
from server.ingest.pipeline import BatchOutcome, IngestContext, ingest_batch
from server.ingest.recording_batch import (
    RecordingBatchResult,
    finish_batch,
    plan_batch,
    read_manifest,
    receive_files,
)
from server.ingest.recordings import UploadState, check_chunk, record_chunk, start_upload, upload_state
from server.ingest.records import BatchResult, ContactIn, DeviceRecord, batch_schema
from server.ingest.rules import add_exclusion, remove_exclusion
from server.ingest.sources import CALLS, SMS
from server.recordings.batch_body import BatchBody
from server.recordings.staging import Busy, Staging, TooManyBytes
from server.recordings.store import get_store
from server.routes.schemas import Read, Strict
from server.routes.trackers import RawBody

router = APIRouter(prefix="/api/v1/ingest", tags=["ingest"])


def _context(device: Device, settings: Settings) -> IngestContext:
    return IngestContext.for_device(device, settings, utcnow())


def _answer(outcome: BatchOutcome) -> Response:
    # serialised directly: thousands of results need no second validation pass (the model documents them)
    return Response(outcome.json(), media_type="application/json")


def _body_doc(schema: type[DeviceRecord]) -> dict[str, Any]:
    """OpenAPI of a batch body (the routes read raw bytes and validate them in one pass)."""
    return {
        "requestBody": {"required": True, "content": {"application/json": {"schema": batch_schema(schema)}}}
    }


@router.post(
    "/sms", response_model=BatchResult, response_model_exclude_none=True, openapi_extra=_body_doc(SMS.schema)
)
def post_sms(body: RawBody, device: CurrentDevice, session: SessionDep, settings: SettingsDep) -> Response:
    """A batch of SMS records; per-record results in input order."""
    return _answer(ingest_batch(session, SMS, body, _context(device, settings), settings.ingest_max_batch))


@router.post(
    "/calls",
    response_model=BatchResult,
    response_model_exclude_none=True,
    openapi_extra=_body_doc(CALLS.schema),
)
def post_calls(body: RawBody, device: CurrentDevice, session: SessionDep, settings: SettingsDep) -> Response:
    """A batch of call-log records; per-record results in input order."""
    return _answer(ingest_batch(session, CALLS, body, _context(device, settings), settings.ingest_max_batch))


@router.post(
    "/contacts",
    response_model=BatchResult,
    response_model_exclude_none=True,
    openapi_extra=_body_doc(ContactIn),
)
def post_contacts(
    body: RawBody, device: CurrentDevice, session: SessionDep, settings: SettingsDep
) -> Response:
    """A batch of phone-book entries (the phone's contacts); per-record results in input order."""
    return _answer(ingest_contacts(session, body, _context(device, settings), settings.ingest_max_batch))


@router.post("/device-status", response_model=DeviceStatusResult)
def post_device_status(
    device: CurrentDevice, session: SessionDep, settings: SettingsDep, payload: Any = Body(...)
) -> DeviceStatusResult:
    """The phone's health; the newest report is kept on the device."""
    return record_device_status(session, device=device, payload=payload, ctx=_context(device, settings))


# The declaration is small JSON: it stays outside the upload prefix (/recordings) and its large body limit.
@router.post("/recording-uploads", response_model=UploadState, response_model_exclude_none=True)
def post_recording(
    device: CurrentDevice, session: SessionDep, settings: SettingsDep, payload: Any = Body(...)
) -> UploadState:
    """Declare a recording file; the answer says whether (and from which offset) to send its bytes."""
    return start_upload(
        session,
        payload=payload,
        ctx=_context(device, settings),
        store=get_store(settings),
        max_bytes=settings.max_upload_bytes,
    )


@router.get("/recordings/{upload_id}", response_model=UploadState, response_model_exclude_none=True)
def get_upload_state(upload_id: int, device: CurrentDevice, session: SessionDep) -> UploadState:
    """How many bytes of the upload the server has (to resume after a broken connection)."""
    return upload_state(session, device=device, upload_id=upload_id)


@router.put("/recordings/{upload_id}", response_model=UploadState, response_model_exclude_none=True)
async def put_recording_bytes(
    upload_id: int,
    request: Request,
    device: CurrentDevice,
    session: SessionDep,
    settings: SettingsDep,
    upload_offset: int = Header(ge=0, description="Where these bytes start; must equal the server's offset."),
) -> UploadState:
    """Append bytes (streamed to disk, never held in memory); the last chunk completes the upload."""
    upload = await run_in_threadpool(
        check_chunk, session, device=device, upload_id=upload_id, offset=upload_offset
    )
    left = upload.size_bytes - upload_offset
    try:
        with Staging(settings.recordings_dir / "staging").open(upload.id) as staged:  # type: ignore[arg-type]
            written = await staged.write(
                upload_offset, request.stream(), left, whole=request.headers.get("content-length") == str(left)
            )
            return await run_in_threadpool(
                record_chunk,
                session,
                upload=upload,
                written=written,
                staged=staged,
                ctx=_context(device, settings),
                store=get_store(settings),
            )
    except TooManyBytes:
        raise DomainError(
            "more bytes than size_bytes declared", field="size_bytes", status_code=413
        ) from None
    except Busy:
        raise Conflict("another request is sending bytes of this upload", field="Upload-Offset") from None


_BATCH_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/octet-stream": {
                "schema": {"type": "string", "format": "binary"},
                "description": 'A manifest line, {"recordings": [declaration, ...]} and a newline, then each '
                "file's bytes in manifest order, each exactly its size_bytes long.",
            }
        },
    }
}


@router.post(
    "/recording-batches",
    response_model=RecordingBatchResult,
    response_model_exclude_none=True,
    openapi_extra=_BATCH_BODY_DOC,
)
async def post_recording_batch(
    request: Request, device: CurrentDevice, session: SessionDep, settings: SettingsDep
) -> RecordingBatchResult:
    """Several whole recording files in one request (streamed to disk); an answer per file in manifest order."""
    body = BatchBody(request.stream())
    entries = await read_manifest(body, request.headers.get("content-length"))
    ctx, store = _context(device, settings), get_store(settings)
    planned = await run_in_threadpool(
        plan_batch, session, entries, ctx=ctx, store=store, max_bytes=settings.max_upload_bytes
    )
    with Staging(settings.recordings_dir / "staging").batch() as folder:
        received = await receive_files(body, planned, folder)
        results = await run_in_threadpool(finish_batch, session, planned, received, ctx=ctx, store=store)
    return RecordingBatchResult(results=results)


# --- for users: exclusion list and quarantine -------------------------------------------------


class ExclusionIn(Strict):
    number: str = Field(min_length=3, max_length=64)
    kind: ExclusionKind = ExclusionKind.personal
    division_id: int | None = None
    label: str = Field(default="", max_length=100)


class ExclusionRead(Read):
    id: int
    e164: str
    division_id: int | None
    kind: ExclusionKind
    user_id: int | None
    label: str
    from_profile: bool
    created_at: datetime


class QuarantineRead(Read):
    id: int
    device_id: int
    division_id: int
    source: CaptureSource
    source_id: str | None
    reason: str
    field: str | None
    payload: str
    received_at: datetime


@router.get("/exclusions", response_model=list[ExclusionRead])
def list_exclusions(session: SessionDep, user: CurrentUser) -> list[ExcludedNumber]:
    stmt = select(ExcludedNumber).order_by(ExcludedNumber.id)
    return list(session.exec(scope(stmt, user, ExcludedNumber)))


@router.post("/exclusions", response_model=ExclusionRead, status_code=201)
def post_exclusion(
    body: ExclusionIn, request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> ExcludedNumber:
    return add_exclusion(
        session,
        actor=user,
        number=body.number,
        kind=body.kind,
        division_id=body.division_id,
        label=body.label,
        region=settings.default_region,
        store=get_store(settings),
        now=utcnow(),
        ip=client_ip(request),
    )


@router.delete("/exclusions/{exclusion_id}", status_code=204)
def delete_exclusion(exclusion_id: int, request: Request, session: SessionDep, user: CurrentUser) -> None:
    remove_exclusion(session, actor=user, exclusion_id=exclusion_id, ip=client_ip(request))


@router.get("/phone-book", response_model=list[EntryView])
def list_phone_book(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    unmatched: bool = Query(default=False, description="Only entries no customer has a number of yet."),
    deleted: bool = Query(default=False, description="The entries deleted on the phones instead."),
    rep_user_id: int | None = None,
    before_id: int | None = None,
    limit: int = Query(default=50, ge=1, le=500),
) -> list[EntryView]:
    """The phone books of the phones (a rep: their own; managers: their division's)."""
    return list_entries(
        session,
        actor=user,
        unmatched=unmatched,
        deleted=deleted,
        rep_user_id=rep_user_id,
        before_id=before_id,
        limit=limit,
        ip=client_ip(request),
    )


class CustomerMade(Read):
    customer_id: int


@router.post("/phone-book/{entry_id}/customer", response_model=CustomerMade, status_code=201)
def post_phone_book_customer(
    entry_id: int,
    body: EntryToCustomer,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
) -> CustomerMade:
    """Make a customer of a phone-book entry; its numbers' earlier calls and SMS are linked to it."""
    customer = customer_from_entry(
        session,
        actor=user,
        entry_id=entry_id,
        data=body,
        now=utcnow(),
        region=settings.default_region,
        ip=client_ip(request),
    )
    return CustomerMade(customer_id=customer.id)  # type: ignore[arg-type]


@router.get("/communications", response_model=list[CommunicationView])
def get_communications(
    session: SessionDep,
    user: CurrentUser,
    kind: Kind = "call",
    link_status: LinkStatus | None = None,
    before_id: int | None = None,
    limit: int = Query(default=50, ge=1, le=500),
) -> list[CommunicationView]:
    """Captured calls or SMS, newest first; unlinked numbers carry the phone's own phone-book name."""
    return list_communications(
        session, actor=user, kind=kind, link_status=link_status, before_id=before_id, limit=limit
    )


@router.get("/quarantine", response_model=list[QuarantineRead])
def list_quarantine(
    session: SessionDep,
    user: User = Depends(require_roles(Role.executive, Role.division_head, Role.division_admin)),
    before_id: int | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[QuarantinedRecord]:
    stmt = select(QuarantinedRecord).order_by(QuarantinedRecord.id.desc()).limit(limit)
    if before_id is not None:
        stmt = stmt.where(QuarantinedRecord.id < before_id)
    return list(session.exec(scope(stmt, user, QuarantinedRecord)))
