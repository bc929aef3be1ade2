"""Content-addressed recordings on the local filesystem: ``<root>/ab/cd/<sha256>``."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from server.recordings.store import CHUNK_BYTES

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):
            raise ValueError("not a lowercase hex SHA-256")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def put(self, staged: Path, sha256: str) -> None:
        """Durable when it returns: the file's bytes and its name are synced to disk first, since
        the upload is answered ``complete`` next and the agent deletes its copy."""
        target = self.path(sha256)
        if target.is_file():
            staged.unlink(missing_ok=True)
            return
        _sync(staged, os.O_RDONLY)
        _make_dirs(target.parent)
        os.replace(staged, target)  # atomic: readers never see a partial file
        _sync(target.parent, os.O_DIRECTORY)

    def size(self, sha256: str) -> int:
        return self.path(sha256).stat().st_size

    def read(self, sha256: str, start: int, end: int) -> Iterator[bytes]:
        with self.path(sha256).open("rb") as handle:
            handle.seek(start)
            left = end - start + 1
            while left > 0:
                chunk = handle.read(min(CHUNK_BYTES, left))
                if not chunk:
                    return
                left -= len(chunk)
                yield chunk

    @contextmanager
    def local_path(self, sha256: str) -> Iterator[Path]:
        yield self.path(sha256)

    def delete(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)


def _sync(path: Path, flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_dirs(folder: Path) -> None:
    """``mkdir -p`` whose new entries are synced into their parents."""
    if folder.is_dir():
        return
    _make_dirs(folder.parent)
    folder.mkdir(exist_ok=True)  # exists: a concurrent upload made it, and may not have synced it yet
    _sync(folder.parent, os.O_DIRECTORY)
