"""The local recording store: content-addressed files, moved in together, equal content kept once."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from server.recordings.local import LocalStore


def _staged(folder: Path, name: str, content: bytes) -> tuple[Path, str]:
    path = folder / name
    path.write_bytes(content)
    return path, hashlib.sha256(content).hexdigest()


def test_put_many_moves_each_content_in_once(tmp_path: Path) -> None:
    store, staging = LocalStore(tmp_path / "store"), tmp_path / "staging"
    staging.mkdir()
    first = _staged(staging, "1.part", b"first recording")
    store.put_many([first])
    files = [
        _staged(staging, "2.part", b"second recording"),
        _staged(staging, "3.part", b"first recording"),  # stored already
        _staged(staging, "4.part", b"third recording"),
        _staged(staging, "5.part", b"second recording"),  # twice in the same call
    ]
    store.put_many(files)
    assert list(staging.iterdir()) == []
    for content in (b"first recording", b"second recording", b"third recording"):
        sha256 = hashlib.sha256(content).hexdigest()
        assert store.path(sha256).read_bytes() == content
        assert store.path(sha256).parent == tmp_path / "store" / sha256[:2] / sha256[2:4]
    assert sum(1 for p in (tmp_path / "store").rglob("*") if p.is_file()) == 3
    store.put_many([])


def test_put_many_refuses_a_name_that_is_not_a_sha256(tmp_path: Path) -> None:
    staged = tmp_path / "x.part"
    staged.write_bytes(b"x")
    with pytest.raises(ValueError):
        LocalStore(tmp_path / "store").put_many([(staged, "../../etc/passwd")])
    assert staged.exists()
