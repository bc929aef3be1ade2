"""The embedded SQLite database is opened durable: WAL, synced at every commit."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from server.db import make_engine


def test_sqlite_commits_are_synced(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'durable.db'}")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
            assert conn.execute(text("PRAGMA synchronous")).scalar_one() == 2  # FULL
            assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
    finally:
        engine.dispose()
