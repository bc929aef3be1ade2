"""The recording store interface: content-addressed by SHA-256, so equal content is stored once.

A store only holds verified content; uploads accumulate in the staging area first
(``server/recordings/staging.py``). An S3-compatible store implements the same methods.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from server.config import Settings

CHUNK_BYTES = 64 * 1024


class RecordingStore(Protocol):
    def has(self, sha256: str) -> bool: ...

    def put_many(self, files: Sequence[tuple[Path, str]]) -> None:
        """Take verified staged files ``(path, sha256)`` (moved, not copied), all durable when this
        returns; a file whose content is present already (or earlier in ``files``) is only removed."""
        ...

    def size(self, sha256: str) -> int: ...

    def read(self, sha256: str, start: int, end: int) -> Iterator[bytes]:
        """Bytes ``start``..``end`` (inclusive) in chunks."""
        ...

    def local_path(self, sha256: str) -> AbstractContextManager[Path]:
        """A local file with the content, for decoders that need a path (duration, speech)."""
        ...

    def delete(self, sha256: str) -> None:
        """Remove the content (no error when it is not there): purged recordings."""
        ...


def get_store(settings: Settings) -> RecordingStore:
    from server.recordings.local import LocalStore

    return LocalStore(settings.recordings_dir / "sha256")
