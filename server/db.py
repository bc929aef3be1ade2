"""Database engine and sessions (sync SQLAlchemy; SQLite embedded by default, PostgreSQL for scale-out)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, event, text
from sqlmodel import Session, create_engine

from server.config import Settings, get_settings
from server.sqlite_checkpoint import SAFETY_NET_PAGES, CheckpointingConnection

SQLITE_BUSY_TIMEOUT_MS = 15_000
#: Page cache per connection (SQLite's default is 2 MiB): the unique keys and the number and customer
#: indexes of the captured tables take inserts all over, and a batch touches more pages than 2 MiB.
SQLITE_CACHE_KIB = 32_768


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    """WAL with ``synchronous=FULL``: the WAL is synced at every commit, so a commit that returned
    (a batch answered ``accepted``) survives a power cut or an OS crash. ``NORMAL`` syncs only at
    checkpoints: the database stays consistent, but the last commits before a power cut can roll
    back. The price is one fsync per transaction (≈ 0.2 ms here; ingestion commits once per batch).
    Checkpoints run in the background (``server.sqlite_checkpoint``); the automatic one is a safety net."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute(f"PRAGMA wal_autocheckpoint={SAFETY_NET_PAGES}")
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.close()


def _null(value: None) -> None:
    return value


def make_engine(url: str, *, pool_size: int = 10, **options: Any) -> Engine:
    """An engine for ``url``; ``options`` go to ``create_engine`` over the defaults."""
    pooling = {"pool_size": pool_size, "max_overflow": 20}
    if url.startswith("sqlite"):
        # sqlite3 binds None through its adaptation protocol (a failed ``__conform__`` look-up,
        # an exception raised and cleared: ≈ 0.3 µs per NULL); a registered adapter is one dict hit.
        sqlite3.register_adapter(type(None), _null)
        engine = create_engine(
            url,
            connect_args={
                "check_same_thread": False,
                "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
                "factory": CheckpointingConnection,
            },
            **(pooling | options),
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, **(pooling | {"pool_pre_ping": True} | options))


@lru_cache
def _engine_for(url: str) -> Engine:
    return make_engine(url)


@lru_cache
def loop_engine(url: str) -> Engine:
    """The engine for short reads made on the event loop itself (see ``server.loop_reads``).

    Its pool is its own and has no overflow limit, so such a read never waits for a connection
    (one held by a worker thread might need the event loop to give it back); beyond the one kept,
    connections are closed when returned. Autocommit: every read sees the latest commit and no
    transaction stays open between reads. No pre-ping round trip: a read on a dropped connection
    is retried once on a new one instead.
    """
    return make_engine(
        url,
        pool_size=1,
        max_overflow=-1,
        isolation_level="AUTOCOMMIT",
        pool_reset_on_return=None,
        pool_pre_ping=False,
    )


def get_engine(settings: Settings | None = None) -> Engine:
    settings = settings or get_settings()
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return _engine_for(settings.effective_database_url)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def database_reachable(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
