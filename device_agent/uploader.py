"""Draining the outbox to the server: batches for records, resumable chunks for recordings.

The server's per-record answer decides each item's fate: ``accepted``, ``duplicate`` and
``excluded`` leave the outbox; ``rejected`` moves to the ``rejected`` table (the server has
quarantined it; re-sending would not help); anything without an answer stays and is sent
again. A request that keeps failing after the retries stops the upload; what is left waits
in the outbox for the next sync.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from device_agent.errors import ServerError
from device_agent.hashing import sha256_file
from device_agent.logs import log_event
from device_agent.server_api import ServerApi
from device_agent.store import AgentStore, OutboxItem

ENDPOINTS = {
    "contacts": "/api/v1/ingest/contacts",
    "sms": "/api/v1/ingest/sms",
    "calls": "/api/v1/ingest/calls",
    "location": "/api/v1/ingest/locations",
}
DONE = {"accepted", "duplicate", "excluded"}
#: A recording's answers that settle it (its bytes are stored, known, or not wanted).
RECORDING_DONE = {"complete", "duplicate", "excluded"}
#: Record kinds in upload order: contacts first (the phone book the server links numbers with);
#: recordings after the call log (the server matches them to calls).
RECORD_KINDS = ("contacts", "sms", "calls", "location")
#: A batch the server refuses as a whole with one of these is split to find the bad record.
SPLIT_STATUSES = {413, 422}


@dataclass
class Uploaded:
    sent: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, counts: dict[str, int], kind: str, n: int = 1) -> None:
        with self._lock:
            counts[kind] = counts.get(kind, 0) + n


class StagedFileCorrupt(Exception):
    """The staged copy of a recording no longer has its SHA-256 (e.g. after a power cut)."""


def _results(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The server's per-record answers; a record without one stays in the outbox and is sent again."""
    results = answer.get("results")
    return [r for r in results if isinstance(r, dict)] if isinstance(results, list) else []


class Uploader:
    def __init__(
        self,
        api: ServerApi,
        store: AgentStore,
        device: str,
        token: str,
        *,
        batch_size: int,
        chunk_bytes: int,
        file_workers: int = 1,
        batch_bytes: int = 0,
        batch_files: int = 32,
        progress: Callable[[str, str], None] = lambda source, message: None,
    ) -> None:
        self.api = api
        self.store = store
        self.device = device
        self.token = token
        self.batch_size = batch_size
        self.chunk_bytes = chunk_bytes
        self.file_workers = file_workers
        self.batch_bytes = batch_bytes
        self.batch_files = batch_files
        self.server_takes_batches = True  # an older server answers 404: then one by one from there on
        self.progress = progress
        self.done = Uploaded()

    def drain(self, kinds: tuple[str, ...] = (*RECORD_KINDS, "recording", "device_status")) -> bool:
        """Upload everything pending of ``kinds``; True when something was sent."""
        sent = False
        for kind in kinds:
            if kind == "recording":
                sent |= self._recordings()
            elif kind == "device_status":
                sent |= self._statuses()
            else:
                sent |= self._records(kind)
        return sent

    # --- records ----------------------------------------------------------------------------
    def _records(self, kind: str) -> bool:
        sent = False
        while batch := self.store.pending(self.device, kind, self.batch_size):
            self._send_batch(kind, batch)
            sent = True
            self.progress(kind, f"uploaded {self.done.sent.get(kind, 0)}")
        return sent

    def _send_batch(self, kind: str, batch: list[OutboxItem]) -> None:
        try:
            answer = self.api.ingest(self.token, ENDPOINTS[kind], [item.raw for item in batch])
        except ServerError as exc:
            if exc.status in SPLIT_STATUSES and len(batch) > 1:
                half = len(batch) // 2
                self._send_batch(kind, batch[:half])
                self._send_batch(kind, batch[half:])
                return
            if exc.status in SPLIT_STATUSES:
                self._reject(batch[0], str(exc), None)
                return
            self.store.note_failure([item.id for item in batch], str(exc))
            raise
        confirmed: list[int] = []
        answered: set[int] = set()
        for result in _results(answer):
            index = result.get("index")
            if not isinstance(index, int) or not 0 <= index < len(batch):
                continue
            answered.add(index)
            if result.get("status") in DONE:
                confirmed.append(batch[index].id)
            elif result.get("status") == "rejected":
                self._reject(batch[index], result.get("reason") or "rejected", result.get("field"))
        self.store.confirm(confirmed)
        self.done.add(self.done.sent, kind, len(confirmed))
        if len(answered) < len(batch):
            missing = [item.id for i, item in enumerate(batch) if i not in answered]
            self.store.note_failure(missing, "no per-record answer from the server")
            raise ServerError(f"the server answered {len(answered)} of {len(batch)} {kind} records", retryable=True)

    def _reject(self, item: OutboxItem, reason: str, field: str | None) -> None:
        self.store.reject(item.device, item.kind, item.item_key, item.payload, reason, field, outbox_id=item.id)
        self.done.add(self.done.rejected, item.kind)
        log_event("agent.upload.rejected", device=self.device, kind=item.kind, key=item.item_key, reason=reason)

    # --- device status ------------------------------------------------------------------------
    def _statuses(self) -> bool:
        items = self.store.pending(self.device, "device_status", 100)
        for item in items:
            try:
                self.api.device_status(self.token, item.payload)
            except ServerError as exc:
                if exc.status == 422:
                    self._reject(item, str(exc), None)
                    continue
                raise
            self.store.confirm([item.id])
            self.done.add(self.done.sent, "device_status")
        return bool(items)

    # --- recordings ---------------------------------------------------------------------------
    def _recordings(self) -> bool:
        """Upload pending recordings, ``file_workers`` requests at a time: files up to ``chunk_bytes`` several to
        a request (up to ``batch_bytes`` and ``batch_files``), larger ones one by one and resumable. The first
        failure stops the rest."""
        sent = False
        with ThreadPoolExecutor(max_workers=self.file_workers, thread_name_prefix="upload-file") as pool:
            while items := self.store.pending(self.device, "recording", 4 * self.file_workers * self.batch_files):
                groups = self._groups(items)
                jobs = [pool.submit(self._recording_batch, group) for group in groups if len(group) > 1]
                jobs += [pool.submit(self._recording, group[0]) for group in groups if len(group) == 1]
                done, _ = wait(jobs, return_when=FIRST_EXCEPTION)
                for future in done:
                    future.result()
                sent = True
        return sent

    def _groups(self, items: list[OutboxItem]) -> list[list[OutboxItem]]:
        """Batches of small files, each at most ``batch_bytes`` and ``batch_files``; a large file on its own."""
        limit = min(self.chunk_bytes, self.batch_bytes) if self.server_takes_batches else 0
        groups: list[list[OutboxItem]] = []
        batch: list[OutboxItem] = []
        batch_bytes = 0
        for item in items:
            size = int(item.payload.get("size_bytes") or 0)
            if size > limit:
                groups.append([item])
                continue
            if batch and (batch_bytes + size > self.batch_bytes or len(batch) == self.batch_files):
                groups.append(batch)
                batch, batch_bytes = [], 0
            batch.append(item)
            batch_bytes += size
        if batch:
            groups.append(batch)
        return groups

    def _staged(self, item: OutboxItem) -> Path | None:
        """The item's staged copy; None (and the item dropped, to be pulled again) when it is gone or has
        another size than the file pulled (staged copies are not synced to disk: a power cut may cut them)."""
        local = Path(item.payload["local_path"])
        try:
            size = local.stat().st_size
        except FileNotFoundError:
            self.store.drop_staged(item.id, self.device, item.payload["phone_path"])
            log_event("agent.upload.staged_file_missing", device=self.device, path=item.payload["phone_path"])
            return None
        if size != item.payload.get("size_bytes"):
            self._corrupt(item, local)
            return None
        return local

    def _corrupt(self, item: OutboxItem, local: Path) -> None:
        self.store.drop_staged(item.id, self.device, item.payload["phone_path"])
        local.unlink(missing_ok=True)
        log_event("agent.upload.staged_file_corrupt", device=self.device, path=item.payload["phone_path"])

    def _refused(self, item: OutboxItem, local: Path, reason: str, field: str | None) -> None:
        """The server refused the recording (and quarantined it): kept aside, its staged copy deleted."""
        self._reject(item, reason, field)
        local.unlink(missing_ok=True)

    def _settled(self, item: OutboxItem, local: Path) -> None:
        self.store.confirm([item.id])
        local.unlink(missing_ok=True)
        self.done.add(self.done.sent, "recording")
        self.progress("recordings", f"uploaded {self.done.sent.get('recording', 0)}")

    @staticmethod
    def _declaration(item: OutboxItem) -> dict[str, Any]:
        return {k: v for k, v in item.payload.items() if k != "local_path" and v is not None}

    def _recording_batch(self, items: list[OutboxItem]) -> None:
        """Several whole files in one request; the server answers each. A batch the server cannot take as
        a whole (an older server, or 413/422) goes file by file, where each file gets its own answer."""
        staged = [(item, local) for item in items if (local := self._staged(item)) is not None]
        if not staged:
            return
        try:
            answer = self.api.send_recordings(self.token, [(self._declaration(item), local) for item, local in staged])
        except ServerError as exc:
            if exc.status not in SPLIT_STATUSES | {404, 405}:
                self.store.note_failure([item.id for item, _ in staged], str(exc))
                raise
            if exc.status in (404, 405):
                self.server_takes_batches = False
            answer = None
        except OSError:  # a staged copy changed size: the per-file path checks it
            answer = None
        if answer is None:
            for item, _ in staged:
                self._recording(item)
            return
        results = {r.get("index"): r for r in _results(answer)}
        unsettled: list[str] = []
        for index, (item, local) in enumerate(staged):
            result = results.get(index) or {}
            status = result.get("status")
            if status in RECORDING_DONE:
                self._settled(item, local)
            elif status == "rejected":
                self._refused(item, local, result.get("reason") or "rejected", result.get("field"))
            elif result.get("field") == "sha256" and sha256_file(local) != item.payload["sha256"]:
                self._corrupt(item, local)
            else:
                unsettled.append(result.get("reason") or f"answer {status!r} for this file")
                self.store.note_failure([item.id], unsettled[-1])
        if unsettled:
            raise ServerError(f"the server settled {len(staged) - len(unsettled)} of {len(staged)} recordings "
                              f"({unsettled[0]})", retryable=True)

    def _recording(self, item: OutboxItem) -> None:
        local = self._staged(item)
        if local is None:
            return
        meta = self._declaration(item)
        try:
            state = self.api.declare_recording(self.token, meta)
            if state["status"] == "upload":
                state = self._send_bytes(local, state, meta["sha256"])
        except StagedFileCorrupt:
            self._corrupt(item, local)
            return
        except ServerError as exc:
            if exc.status in SPLIT_STATUSES:
                self._refused(item, local, str(exc), None)
                return
            self.store.note_failure([item.id], str(exc))
            raise
        if state["status"] not in RECORDING_DONE:
            raise ServerError(f"recording {meta['file_name']}: unexpected upload state {state}", retryable=True)
        self._settled(item, local)

    def _send_bytes(self, local: Path, state: dict[str, Any], sha256: str) -> dict[str, Any]:
        """Send the file from the server's offset on, chunk by chunk; a 409 re-reads the offset.

        A SHA-256 the server does not confirm means our staged copy is damaged (the server had
        the bytes we sent): :class:`StagedFileCorrupt`, and the next sync pulls the file again.
        """
        upload_id = int(state["upload_id"])
        offset = int(state["offset"])
        size = int(state["size_bytes"])
        with open(local, "rb") as source:
            while offset < size:
                source.seek(offset)
                chunk = source.read(min(self.chunk_bytes, size - offset))
                if not chunk:  # the staged copy got shorter than the file pulled
                    raise StagedFileCorrupt(str(local))
                try:
                    state = self.api.put_chunk(self.token, upload_id, offset, chunk)
                except ServerError as exc:
                    if exc.status == 422 and "sha256" in str(exc):
                        if sha256_file(local) != sha256:
                            raise StagedFileCorrupt(str(local)) from exc
                        raise ServerError(f"{local.name}: {exc}", retryable=True) from exc
                    if exc.status != 409:
                        raise
                    state = self.api.upload_state(self.token, upload_id)
                    if state["status"] == "complete":
                        return state
                offset = int(state["offset"])
                if state["status"] != "upload":
                    return state
        return self.api.upload_state(self.token, upload_id)

