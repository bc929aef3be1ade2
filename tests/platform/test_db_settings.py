"""The embedded SQLite database is opened durable: WAL, synced at every commit."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import text

from server import sqlite_checkpoint
from server.db import make_engine
from server.sqlite_checkpoint import SAFETY_NET_PAGES


def test_sqlite_commits_are_synced(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'durable.db'}")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
            assert conn.execute(text("PRAGMA synchronous")).scalar_one() == 2  # FULL
            assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
    finally:
        engine.dispose()


def test_sqlite_wal_is_checkpointed_after_commits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A commit leaves its checkpoint to the background: the automatic one is only a safety net, yet
    the committed pages reach the database file soon after without any further commit, and a long
    WAL is started over (truncated)."""
    monkeypatch.setattr(sqlite_checkpoint, "TRUNCATE_FRAMES", 1_000)  # the real one is 128 MiB
    database = tmp_path / "checkpointed.db"
    engine = make_engine(f"sqlite:///{database}")
    try:
        with engine.begin() as conn:
            assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar_one() == SAFETY_NET_PAGES
            conn.execute(text("CREATE TABLE note (body TEXT)"))
        size_before = database.stat().st_size
        rows = 2_000  # a page each: more than the default automatic checkpoint and the truncation
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO note (body) VALUES (:body)"), [{"body": "x" * 4000}] * rows)
        wal = tmp_path / "checkpointed.db-wal"
        deadline = time.monotonic() + 30
        while (
            database.stat().st_size <= size_before + rows * 4000 or wal.stat().st_size > 0
        ) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert database.stat().st_size > size_before + rows * 4000
        assert wal.stat().st_size == 0
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM note")).scalar_one() == rows
    finally:
        engine.dispose()
