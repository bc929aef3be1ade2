"""Partial uploads on disk, one file per upload, written at the offset the server has recorded."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from server.recordings.store import CHUNK_BYTES


class TooManyBytes(Exception):
    """The client sent more bytes than the upload declared."""


@dataclass(frozen=True, slots=True)
class Written:
    bytes: int
    interrupted: bool


class Staging:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, upload_id: int) -> Path:
        return self.root / f"{int(upload_id)}.part"

    async def write(self, upload_id: int, offset: int, chunks: AsyncIterator[bytes], limit: int) -> Written:
        """Write the stream at ``offset`` (anything already past it is cut first).

        Bytes received before the stream broke off stay written and are counted, so the
        client can resume from there. Raises :class:`TooManyBytes` past ``limit`` bytes,
        after cutting the file back to ``offset``.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.path(upload_id)
        path.touch(exist_ok=True)
        written = 0
        with path.open("r+b") as handle:
            handle.truncate(offset)
            handle.seek(offset)
            try:
                async for chunk in chunks:
                    if written + len(chunk) > limit:
                        handle.truncate(offset)
                        raise TooManyBytes
                    handle.write(chunk)
                    written += len(chunk)
            except TooManyBytes:
                raise
            except Exception:  # the client went away mid-body: keep what arrived
                return Written(written, interrupted=True)
        return Written(written, interrupted=False)

    def sha256(self, upload_id: int) -> str:
        digest = hashlib.sha256()
        with self.path(upload_id).open("rb") as handle:
            while chunk := handle.read(CHUNK_BYTES * 16):
                digest.update(chunk)
        return digest.hexdigest()

    def reset(self, upload_id: int) -> None:
        self.path(upload_id).unlink(missing_ok=True)
