"""Content-addressed recordings on the local filesystem: ``<root>/ab/cd/<sha256>``."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from server.recordings.store import CHUNK_BYTES

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
#: Syncs in flight at once: a batch's files (32 at most, by default) in a few rounds.
SYNC_THREADS = 8


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):
            raise ValueError("not a lowercase hex SHA-256")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def put_many(self, files: Sequence[tuple[Path, str]]) -> None:
        """Durable when it returns: the files' bytes and names are synced to disk first, since the
        uploads are answered ``complete`` next and the agent deletes its copies. The files are synced
        together (the disk takes the requests at once instead of one wait per file; a batch of 32
        recordings waited for 32 syncs in a row), then each target folder once."""
        moving: dict[str, Path] = {}
        for staged, sha256 in files:
            if sha256 in moving or self.path(sha256).is_file():
                staged.unlink(missing_ok=True)
            else:
                moving[sha256] = staged
        _sync_all([(staged, os.O_RDONLY) for staged in moving.values()])
        folders: set[Path] = set()
        for sha256, staged in moving.items():
            target = self.path(sha256)
            _make_dirs(target.parent)
            os.replace(staged, target)  # atomic: readers never see a partial file
            folders.add(target.parent)
        _sync_all([(folder, os.O_DIRECTORY) for folder in sorted(folders)])

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


def _sync_all(paths: list[tuple[Path, int]]) -> None:
    """:func:`_sync` of each (path, open flags), several at a time (``fsync`` releases the GIL)."""
    if len(paths) <= 1:
        for path, flags in paths:
            _sync(path, flags)
        return
    with ThreadPoolExecutor(max_workers=min(SYNC_THREADS, len(paths))) as pool:
        list(pool.map(lambda item: _sync(*item), paths))  # consumed, so that a failed sync raises here


def _make_dirs(folder: Path) -> None:
    """``mkdir -p`` whose new entries are synced into their parents."""
    if folder.is_dir():
        return
    _make_dirs(folder.parent)
    folder.mkdir(exist_ok=True)  # exists: a concurrent upload made it, and may not have synced it yet
    _sync(folder.parent, os.O_DIRECTORY)
