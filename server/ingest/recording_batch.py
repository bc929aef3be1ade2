"""Several whole recordings in one request: what the agent sends for files small enough to need no
resuming. One request and one commit for the lot, instead of a declaration, a byte upload and two
commits for each file (the per-file, resumable upload is in ``server/ingest/recordings.py``).

The body is a manifest line, ``{"recordings": [declaration, ...]}`` and ``\\n``, followed by each
file's bytes in manifest order, each exactly its declared ``size_bytes``. Every file gets its own
answer: ``complete``, ``duplicate`` and ``excluded`` are settled; ``rejected`` was quarantined
(sending it again will not help); ``retry`` (its bytes arrived incomplete, or not with the
declared SHA-256) is to be sent again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from pydantic_core import from_json
from sqlmodel import Session

from crm.communications import CaptureSource
from crm.errors import DomainError
from server.ingest.pipeline import IngestContext, Rejected, quarantine, quarantine_row
from server.ingest.recordings import (
    RecordingIn,
    check_stored_size,
    declared,
    register_recordings,
    settled_without_bytes,
)
from server.logs import get_logger, log_event
from server.recordings.batch_body import BatchBody, BodyEnded, ManifestTooLong
from server.recordings.staging import StagedFile, Written
from server.recordings.store import RecordingStore

logger = get_logger("ingest")

MANIFEST_MAX_BYTES = 256 * 1024
MAX_FILES = 100


class BatchItemResult(BaseModel):
    index: int
    status: Literal["complete", "duplicate", "excluded", "rejected", "retry"]
    recording_id: int | None = None
    reason: str | None = None
    field: str | None = None


class RecordingBatchResult(BaseModel):
    results: list[BatchItemResult]


@dataclass
class Planned:
    """One file of the batch: its declared size (which frames its bytes) and, once known, its answer."""

    index: int
    size: int
    meta: RecordingIn | None = None
    result: BatchItemResult | None = None
    stored: bool = False  # the content is in the store already (another phone's copy): bytes are read past

    @property
    def wants_bytes(self) -> bool:
        return self.result is None and not self.stored


def parse_manifest(line: bytes) -> list[dict[str, Any]]:
    """The declarations; the whole request is refused when the sizes cannot frame the files."""
    try:
        body = from_json(line)  # a ValueError also for nesting too deep (json.loads would recurse)
    except ValueError:
        raise DomainError(
            "the manifest (the body's first line) is not JSON", field="recordings", status_code=422
        ) from None
    entries = body.get("recordings") if isinstance(body, dict) else None
    if not isinstance(entries, list) or not entries:
        raise DomainError(
            'the manifest must be {"recordings": [...]} with at least one file', field="recordings", status_code=422
        )
    if len(entries) > MAX_FILES:
        raise DomainError(f"at most {MAX_FILES} files per batch", field="recordings", status_code=413)
    for index, entry in enumerate(entries):
        size = entry.get("size_bytes") if isinstance(entry, dict) else None
        if type(size) is not int or size < 1:
            raise DomainError(
                "each file needs a positive integer size_bytes: it says where the file's bytes end",
                field=f"recordings.{index}.size_bytes",
                status_code=422,
            )
    return entries


async def read_manifest(body: BatchBody, content_length: str | None) -> list[dict[str, Any]]:
    """The body's manifest line, parsed; a ``Content-Length`` must be the line's and its files' bytes."""
    try:
        line = await body.line(MANIFEST_MAX_BYTES)
    except ManifestTooLong:
        raise DomainError(
            f"the manifest line is longer than {MANIFEST_MAX_BYTES} bytes", field="recordings", status_code=413
        ) from None
    except BodyEnded:
        raise DomainError("the body ended before the manifest's newline", field="recordings", status_code=422) from None
    entries = parse_manifest(line)
    declared_length = len(line) + 1 + sum(entry["size_bytes"] for entry in entries)
    if content_length is not None and content_length != str(declared_length):
        raise DomainError(
            f"Content-Length is {content_length} but the manifest line and its files make {declared_length} bytes",
            field="recordings",
            status_code=422,
        )
    return entries


async def receive_files(body: BatchBody, planned: list[Planned], folder: Path) -> dict[int, tuple[Path, Written]]:
    """Each wanted file's bytes streamed into ``folder`` (hashed as written); the others read past."""
    received: dict[int, tuple[Path, Written]] = {}
    for item in planned:
        if not item.wants_bytes:
            await body.skip(item.size)
            continue
        path, start = folder / f"{item.index}.part", body.taken
        with path.open("w+b") as handle:
            written = await StagedFile(path, handle).write(0, body.take(item.size), item.size, whole=True)
        received[item.index] = (path, written)
        await body.skip(item.size - (body.taken - start))  # left unread by a failed write: the next file follows
    if not await body.at_end():
        raise DomainError("more bytes than the manifest declares", field="recordings", status_code=422)
    return received


def plan_batch(
    session: Session, entries: list[dict[str, Any]], *, ctx: IngestContext, store: RecordingStore, max_bytes: int
) -> list[Planned]:
    """Answer what needs no bytes (refused: quarantined, this phone's duplicate, excluded number) and commit
    that."""
    planned = []
    refused = []
    for index, payload in enumerate(entries):
        item = Planned(index, payload["size_bytes"])
        planned.append(item)
        try:
            item.meta = declared(payload, ctx=ctx, max_bytes=max_bytes)
        except Rejected as rejected:
            refused.append(quarantine_row(ctx, CaptureSource.recording, payload, rejected))
            item.result = BatchItemResult(index=index, status="rejected", reason=rejected.reason, field=rejected.field)
            continue
        settled = settled_without_bytes(session, meta=item.meta, ctx=ctx)
        if settled is not None:
            item.result = BatchItemResult(index=index, status=settled.status, recording_id=settled.recording_id)
        elif store.has(item.meta.sha256):
            try:
                check_stored_size(store, item.meta)
            except DomainError as error:
                item.result = BatchItemResult(index=index, status="rejected", reason=error.detail, field=error.field)
            else:
                item.stored = True
    quarantine(session, ctx, refused)
    session.commit()
    return planned


def finish_batch(
    session: Session,
    planned: list[Planned],
    received: dict[int, tuple[Path, Written]],
    *,
    ctx: IngestContext,
    store: RecordingStore,
) -> list[BatchItemResult]:
    """Verify each received file and move it into the store; then register them all, in one commit."""
    whole: list[Planned] = []
    verified: list[tuple[Path, str]] = []
    for item in planned:
        if item.result is not None or item.meta is None:
            continue
        if not item.stored:
            path, written = received.get(item.index, (None, None))
            if path is None or written is None or written.bytes < item.size:
                item.result = BatchItemResult(
                    index=item.index, status="retry", reason="the body ended before all of this file's bytes"
                )
                continue
            if written.sha256 != item.meta.sha256:
                log_event(logger, "ingest.recording.sha256_mismatch", logging.WARNING, device_id=ctx.device_id)
                item.result = BatchItemResult(
                    index=item.index,
                    status="retry",
                    field="sha256",
                    reason="the file's bytes do not have the declared SHA-256",
                )
                continue
            verified.append((path, item.meta.sha256))
        whole.append(item)
    store.put_many(verified)
    if whole:
        metas = [item.meta for item in whole if item.meta is not None]
        for item, recording_id in zip(whole, register_recordings(session, metas=metas, ctx=ctx, store=store), strict=True):
            item.result = BatchItemResult(index=item.index, status="complete", recording_id=recording_id)
    session.commit()
    return [item.result for item in planned if item.result is not None]
