"""WAL checkpoints of SQLite databases, off the path of the request that commits.

SQLite's automatic checkpoint runs inside the commit that takes the WAL past
``wal_autocheckpoint`` pages: that commit copies every page of the WAL back into the database
and syncs it. An ingestion batch of 1,000 records dirties more than the default 1,000 pages, so
almost every batch paid for a whole checkpoint before it could answer. Here connections raise the
automatic threshold to :data:`SAFETY_NET_PAGES` (so that the WAL stays bounded where nothing else
checkpoints), and after each commit (through :class:`CheckpointingConnection`) a background thread runs a ``PASSIVE`` checkpoint: it copies
pages while readers and writers go on, and sqlite3 releases the GIL while it runs, so the copy
uses the other core instead of the request's time.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from server.logs import get_logger, log_event

logger = get_logger("db")

#: Automatic checkpoint threshold (pages, 4 KiB each) of every connection: reached only when the
#: background checkpoints fall behind or do not run (a command-line process that exits first).
SAFETY_NET_PAGES = 16_000
#: A WAL longer than this (frames, 16 MiB) is started over once copied back (:meth:`Checkpointer._truncate`).
TRUNCATE_FRAMES = 4_096
#: How long the truncating checkpoint waits for writers and readers; new writers wait meanwhile.
TRUNCATE_WAIT_MS = 50
BUSY_TIMEOUT_MS = 1_000
#: How long a checkpoint that could not copy every frame (a reader still used them) waits to retry.
RETRY_S = 0.05
RETRIES = 20


class Checkpointer:
    """One daemon thread that checkpoints the databases whose commits :meth:`committed` reports."""

    def __init__(self) -> None:
        self._pending: set[str] = set()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def committed(self, database: str) -> None:
        """Note a commit to ``database`` (a file path); its WAL is checkpointed soon after."""
        with self._wake:
            self._pending.add(database)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._pending:
                    self._wake.wait()
                databases, self._pending = self._pending, set()
            for database in databases:
                self._checkpoint(database)

    def _checkpoint(self, database: str) -> None:
        if not Path(database).exists():  # removed since (a test's temporary database)
            return
        try:
            connection = sqlite3.connect(database, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
        except sqlite3.Error:
            return
        try:
            for _ in range(RETRIES):
                busy, frames, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                if not busy and copied >= frames:
                    if frames > TRUNCATE_FRAMES:
                        self._truncate(connection)
                    return
                time.sleep(RETRY_S)  # a commit in flight or a reader on older frames: try again
        except sqlite3.Error as error:  # the commit's data is safe in the WAL whatever happens here
            log_event(logger, "db.checkpoint.failed", logging.WARNING, database=database, error=str(error))
        finally:
            connection.close()


    @staticmethod
    def _truncate(connection: sqlite3.Connection) -> None:
        """Start the WAL over from its beginning, if no writer or reader is busy within a moment.

        A writer starts the WAL over only if every frame was copied back when its transaction
        began; under sustained ingestion the next batch usually begins while the background copy
        still runs, so the WAL would only grow. Waiting briefly for a gap between batches bounds it.
        """
        connection.execute(f"PRAGMA busy_timeout={TRUNCATE_WAIT_MS}")
        try:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


checkpointer = Checkpointer()


class CheckpointingConnection(sqlite3.Connection):
    """A sqlite3 connection whose commits schedule a background checkpoint of its database file."""

    def __init__(self, database: str | Path, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        name = str(database)
        on_disk = name not in ("", ":memory:") and not name.startswith("file:")
        self._database = str(Path(name).resolve()) if on_disk else None

    def commit(self) -> None:
        super().commit()
        if self._database is not None:
            checkpointer.committed(self._database)
