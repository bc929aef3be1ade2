"""Recordings: resumable, SHA-256-verified uploads, then the same steps as other records
(normalise → exclude → link → persist), plus duration and call matching.

1. ``start_upload``: the agent declares the file (SHA-256, size, name, path). Known content
   needs no bytes (stored once, content-addressed); an excluded number needs none either.
2. ``accept_chunk``: bytes are appended at the offset the server reports; a broken
   connection loses nothing already received.
3. When all bytes are in, the SHA-256 is checked, the file moves into the store and the
   recording row is written (``register_recording``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlmodel import Session

from capture.audio import probe_audio
from capture.recordings import parse_recording_name
from crm.communications import (
    RECORDING_TABLE,
    CaptureSource,
    ExcludedCapture,
    LinkStatus,
    Recording,
    RecordingUpload,
    TranscriptStatus,
    UploadStatus,
)
from crm.devices import Device
from crm.errors import Conflict, DomainError, NotFound
from crm.linking import load_phone_book, timeline_rows, write_timeline
from server.ingest.matching import match_recordings
from server.ingest.numbers import excluded_numbers, normalised
from server.ingest.persist import as_columns, insert_new, insert_rows
from server.ingest.pipeline import IngestContext, Rejected, check_times, decode, quarantine, quarantine_row
from server.ingest.records import Text128, Text500
from server.logs import get_logger, log_event
from server.recordings.staging import StagedFile, Written
from server.recordings.store import RecordingStore

logger = get_logger("ingest")


class RecordingIn(BaseModel):
    """The agent's declaration of one recording file."""

    model_config = ConfigDict(extra="forbid")

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="Lowercase hex SHA-256 of the whole file.")
    size_bytes: int = Field(ge=1)
    file_name: Text500 = Field(min_length=1)
    phone_path: Text500 = ""
    started_at: AwareDatetime | None = Field(default=None, description="Overrides the time in the file name.")
    modified_at: AwareDatetime | None = Field(default=None, description="The file's mtime on the phone.")
    number: Text128 | None = Field(default=None, description="Overrides the number in the file name.")


class UploadState(BaseModel):
    status: Literal["upload", "complete", "duplicate", "excluded"]
    upload_id: int | None = None
    offset: int = Field(default=0, description="Bytes the server has; send the rest from here.")
    size_bytes: int
    recording_id: int | None = None


def _zone(ctx: IngestContext) -> ZoneInfo:
    try:
        return ZoneInfo(ctx.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _upload_state(upload: RecordingUpload) -> UploadState:
    return UploadState(
        status="complete" if upload.status == UploadStatus.complete else "upload",
        upload_id=upload.id,
        offset=upload.received,
        size_bytes=upload.size_bytes,
        recording_id=upload.recording_id,
    )


def declared(payload: Any, *, ctx: IngestContext, max_bytes: int) -> RecordingIn:
    """The agent's declaration of a file, checked; raises :class:`Rejected` (the caller quarantines it)."""
    meta: RecordingIn = decode(RecordingIn, payload)
    check_times(meta, ctx, ("started_at", "modified_at"))
    if meta.size_bytes > max_bytes:
        raise Rejected(f"file larger than {max_bytes} bytes", "size_bytes")
    return meta


def settled_without_bytes(session: Session, *, meta: RecordingIn, ctx: IngestContext) -> UploadState | None:
    """``duplicate`` (this phone's recording is stored) or ``excluded`` (its number is on the exclusion
    list: noted, not kept; flushed, committed by the caller), or None when the server needs the file."""
    existing = session.execute(
        select(Recording.id).where(Recording.device_id == ctx.device_id, Recording.source_key == meta.sha256)
    ).scalar()
    if existing is not None:
        return UploadState(
            status="duplicate", offset=meta.size_bytes, size_bytes=meta.size_bytes, recording_id=existing
        )
    name = parse_recording_name(meta.phone_path or meta.file_name)
    number = normalised(meta.number or name.number, ctx.region)
    if number.e164 is None or number.e164 not in excluded_numbers(session, ctx.division_id, ctx.region):
        return None
    insert_rows(
        session,
        ExcludedCapture.__table__,
        [
            {
                "device_id": ctx.device_id,
                "division_id": ctx.division_id,
                "source": CaptureSource.recording,
                "source_key": meta.sha256,
                "received_at": ctx.now,
            }
        ],
        ("device_id", "source", "source_key"),
    )
    return UploadState(status="excluded", size_bytes=meta.size_bytes)


def check_stored_size(store: RecordingStore, meta: RecordingIn) -> None:
    """Content already in the store (from any phone) must have the declared size."""
    if store.size(meta.sha256) != meta.size_bytes:
        raise DomainError("size_bytes does not match the stored content of this sha256", field="size_bytes")


def start_upload(
    session: Session, *, payload: Any, ctx: IngestContext, store: RecordingStore, max_bytes: int
) -> UploadState:
    try:
        meta = declared(payload, ctx=ctx, max_bytes=max_bytes)
    except Rejected as rejected:
        quarantine(session, ctx, [quarantine_row(ctx, CaptureSource.recording, payload, rejected)])
        session.commit()
        raise DomainError(rejected.reason, field=rejected.field, status_code=422) from None
    settled = settled_without_bytes(session, meta=meta, ctx=ctx)
    if settled is not None:
        session.commit()
        return settled
    if store.has(meta.sha256):
        check_stored_size(store, meta)
        recording_id = register_recording(session, meta=meta, ctx=ctx, store=store)
        session.commit()
        return UploadState(
            status="complete", offset=meta.size_bytes, size_bytes=meta.size_bytes, recording_id=recording_id
        )
    upload = session.execute(
        select(RecordingUpload).where(
            RecordingUpload.device_id == ctx.device_id,
            RecordingUpload.sha256 == meta.sha256,
            RecordingUpload.status == UploadStatus.open,
        )
    ).scalar()
    if upload is None or upload.size_bytes != meta.size_bytes:
        upload = RecordingUpload(
            device_id=ctx.device_id,
            division_id=ctx.division_id,
            sha256=meta.sha256,
            size_bytes=meta.size_bytes,
            meta=meta.model_dump(mode="json"),
            created_at=ctx.now,
            updated_at=ctx.now,
        )
        session.add(upload)
        session.commit()
    return _upload_state(upload)


def get_upload(session: Session, *, device: Device, upload_id: int) -> RecordingUpload:
    upload = session.get(RecordingUpload, upload_id)
    if upload is None or upload.device_id != device.id:
        raise NotFound("no such upload")
    return upload


def upload_state(session: Session, *, device: Device, upload_id: int) -> UploadState:
    return _upload_state(get_upload(session, device=device, upload_id=upload_id))


def check_chunk(session: Session, *, device: Device, upload_id: int, offset: int) -> RecordingUpload:
    """The upload a chunk at ``offset`` may be appended to (409 tells the client where to resume)."""
    upload = get_upload(session, device=device, upload_id=upload_id)
    if upload.status == UploadStatus.complete:
        raise Conflict(f"upload already complete (recording {upload.recording_id})", field="Upload-Offset")
    if offset != upload.received:
        raise Conflict(f"offset mismatch: the server has {upload.received} bytes", field="Upload-Offset")
    return upload


def record_chunk(
    session: Session,
    *,
    upload: RecordingUpload,
    written: Written,
    staged: StagedFile,
    ctx: IngestContext,
    store: RecordingStore,
) -> UploadState:
    """Count the bytes written; when the file is whole, verify it and register the recording.

    The upload row is changed once, after the recording's row: one UPDATE, not one flushed
    before the recording's queries and another at the commit.
    """
    if upload.received + written.bytes < upload.size_bytes:
        upload.received += written.bytes
        upload.updated_at = ctx.now
        session.commit()
        return _upload_state(upload)
    if (written.sha256 or staged.sha256()) != upload.sha256:
        staged.path.unlink(missing_ok=True)
        upload.received, upload.updated_at = 0, ctx.now
        session.commit()
        log_event(logger, "ingest.recording.sha256_mismatch", logging.WARNING, upload_id=upload.id)
        raise DomainError(
            "the file's SHA-256 does not match the declared one; upload restarted from offset 0",
            field="sha256",
            status_code=422,
        )
    store.put_many([(staged.path, upload.sha256)])
    recording_id = register_recording(
        session, meta=RecordingIn.model_validate(upload.meta), ctx=ctx, store=store
    )
    upload.received, upload.updated_at = upload.size_bytes, ctx.now
    upload.recording_id, upload.status = recording_id, UploadStatus.complete
    session.commit()
    return _upload_state(upload)


def _start_time(
    meta: RecordingIn, name_time: datetime | None, duration: float | None, ctx: IngestContext
) -> datetime | None:
    if meta.started_at is not None:
        return meta.started_at
    if name_time is not None:
        return name_time.replace(tzinfo=_zone(ctx)).astimezone(ctx.now.tzinfo)
    if meta.modified_at is not None and duration is not None:
        return meta.modified_at - timedelta(seconds=duration)
    return None


def _recording_row(meta: RecordingIn, ctx: IngestContext, store: RecordingStore) -> tuple[dict[str, Any], bool]:
    """The recording's row before linking (number, start time, the audio's duration: a failure to read
    it is noted in ``problems``, never fatal), and whether its number can link it to a customer."""
    name = parse_recording_name(meta.phone_path or meta.file_name)
    number = normalised(meta.number or name.number, ctx.region)
    with store.local_path(meta.sha256) as path:
        audio = probe_audio(path)
    started = _start_time(meta, name.started_at, audio.duration_s, ctx)
    row = {
        "device_id": ctx.device_id,
        "division_id": ctx.division_id,
        "rep_user_id": ctx.rep_user_id,
        "source_key": meta.sha256,
        "number_raw": number.raw[:128],
        "number_e164": number.e164,
        "number_kind": number.kind.value,
        "occurred_at": started or ctx.now,
        "direction": "unknown",
        # no number in the name: linked through its call once matched
        "link_status": LinkStatus.unlinked if number.e164 is None and not number.raw else LinkStatus.unlinkable,
        "customer_id": None,
        "received_at": ctx.now,
        "sha256": meta.sha256,
        "size_bytes": meta.size_bytes,
        "file_name": name.file_name,
        "phone_path": meta.phone_path,
        "oem": name.oem.value,
        "contact_name": name.contact_name,
        "time_known": started is not None,
        "call_id": None,
        "duration_s": audio.duration_s,
        "audio_format": audio.format,
        "transcript_status": TranscriptStatus.pending if ctx.transcribe else TranscriptStatus.none,
        "problems": {} if audio.reason is None else {"duration": audio.reason},
    }
    return row, number.linkable


def _match_windows(starts: list[datetime], tolerance: timedelta) -> list[tuple[datetime, datetime]]:
    """The recordings' start times as few windows as keep each one small: runs of starts no further
    apart than twice the matching tolerance."""
    windows: list[tuple[datetime, datetime]] = []
    for start in sorted(starts):
        if windows and start - windows[-1][1] <= 2 * tolerance:
            windows[-1] = (windows[-1][0], start)
        else:
            windows.append((start, start))
    return windows


def register_recordings(
    session: Session, *, metas: list[RecordingIn], ctx: IngestContext, store: RecordingStore
) -> list[int]:
    """Write the recordings' rows (content already in the store), link them and match them to their
    calls, a statement per step for all of them; their ids in the order of ``metas``."""
    built = {meta.sha256: _recording_row(meta, ctx, store) for meta in metas}
    rows = {sha: row for sha, (row, _linkable) in built.items()}
    linkable = [sha for sha, (_row, can_link) in built.items() if can_link]
    book = load_phone_book(session, [rows[sha]["number_e164"] for sha in linkable], [ctx.division_id])
    links: dict[str, tuple[int, ...]] = {}
    for sha in linkable:
        row = rows[sha]
        link = book.resolve(
            division_id=ctx.division_id, e164=row["number_e164"], at=row["occurred_at"], rep_user_id=ctx.rep_user_id
        )
        row["link_status"], row["customer_id"] = link.status, (link.customer_ids or (None,))[0]
        links[sha] = tuple(link.customer_ids)
    inserted = insert_new(
        session, Recording.__table__, as_columns(list(rows.values())), ("device_id", "source_key"), "source_key"
    )
    timeline = []
    for sha, recording_id in inserted.items():
        rows[sha]["id"] = recording_id
        timeline += timeline_rows(RECORDING_TABLE, rows[sha], links.get(sha, ()), ctx.now)
    write_timeline(session, timeline)
    known = [row for row in rows.values() if row["time_known"] and "id" in row]
    for start, end in _match_windows([row["occurred_at"] for row in known], ctx.match_tolerance):
        match_recordings(session, device_id=ctx.device_id, start=start, end=end, tolerance=ctx.match_tolerance)
    missing = [sha for sha in rows if sha not in inserted]  # a concurrent upload of the same file won
    if missing:
        stored = session.execute(
            select(Recording.source_key, Recording.id).where(
                Recording.device_id == ctx.device_id, Recording.source_key.in_(missing)
            )
        )
        for sha, recording_id in stored:
            rows[sha]["id"] = recording_id
    for sha in inserted:
        row = rows[sha]
        problem = row["problems"].get("duration")
        log_event(
            logger, "ingest.recording", device_id=ctx.device_id, recording_id=row["id"], duration_s=row["duration_s"],
            problem=problem,
        )
    return [rows[meta.sha256]["id"] for meta in metas]


def register_recording(
    session: Session, *, meta: RecordingIn, ctx: IngestContext, store: RecordingStore
) -> int:
    """One recording's row (content already in the store); returns its id."""
    [recording_id] = register_recordings(session, metas=[meta], ctx=ctx, store=store)
    return recording_id
