"""Partial uploads on disk, one file per upload, written at the offset the server has recorded."""

from __future__ import annotations

import fcntl
import hashlib
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from server.recordings.store import CHUNK_BYTES


class TooManyBytes(Exception):
    """The client sent more bytes than the upload declared."""


class Busy(Exception):
    """Another request is writing this upload (or has just moved it into the store)."""


@dataclass(frozen=True, slots=True)
class Written:
    bytes: int
    interrupted: bool
    sha256: str | None = None
    """Of the whole file, when it was hashed while written (see :meth:`StagedFile.write`)."""


class StagedFile:
    """An upload's file, held exclusively while it is written and, once whole, verified and stored."""

    def __init__(self, path: Path, handle: BinaryIO) -> None:
        self.path = path
        self._handle = handle

    async def write(
        self, offset: int, chunks: AsyncIterator[bytes], limit: int, *, whole: bool = False
    ) -> Written:
        """Write the stream at ``offset`` (anything already past it is cut first).

        Bytes received before the stream broke off stay written and are counted, so the
        client can resume from there. Raises :class:`TooManyBytes` past ``limit`` bytes,
        after cutting the file back to ``offset``. With ``whole`` (the request sends the
        file from its first byte to its last) the bytes are hashed as they are written, so
        the finished file is not read again to verify it.
        """
        handle = self._handle
        handle.truncate(offset)
        handle.seek(offset)
        digest = hashlib.sha256() if whole and offset == 0 else None
        written = 0
        try:
            async for chunk in chunks:
                if written + len(chunk) > limit:
                    handle.truncate(offset)
                    raise TooManyBytes
                handle.write(chunk)
                if digest is not None:
                    digest.update(chunk)
                written += len(chunk)
        except TooManyBytes:
            raise
        except Exception:  # the client went away mid-body: keep what arrived
            handle.flush()
            return Written(written, interrupted=True)
        handle.flush()
        finished = digest.hexdigest() if digest is not None and written == limit else None
        return Written(written, interrupted=False, sha256=finished)

    def sha256(self) -> str:
        """Read the file again (an upload that arrived in several requests)."""
        digest = hashlib.sha256()
        buffer = bytearray(CHUNK_BYTES * 16)
        view = memoryview(buffer)
        self._handle.seek(0)
        while size := self._handle.readinto(buffer):
            digest.update(view[:size])
        return digest.hexdigest()


class Staging:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, upload_id: int) -> Path:
        return self.root / f"{int(upload_id)}.part"

    @contextmanager
    def open(self, upload_id: int) -> Iterator[StagedFile]:
        """The upload's file, locked against other requests for it (:class:`Busy` if one has it).

        Holding the lock until the file is in the store means no other request's bytes can
        land between the SHA-256 check and the move.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.path(upload_id)
        with os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, 0o666), "r+b") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                moved = os.fstat(handle.fileno()).st_ino != path.stat().st_ino
            except (BlockingIOError, FileNotFoundError):
                raise Busy from None
            if moved:  # opened just before another request moved it into the store
                raise Busy
            yield StagedFile(path, handle)

    @contextmanager
    def batch(self) -> Iterator[Path]:
        """A folder of its own for one batch request's files, removed afterwards (the files that
        went into the store were moved out of it)."""
        folder = self.root / f"batch-{secrets.token_hex(8)}"
        folder.mkdir(parents=True)
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)
