"""WAL checkpoints of SQLite databases, off the path of the request that commits.

SQLite's automatic checkpoint runs inside the commit that takes the WAL past
``wal_autocheckpoint`` pages: that commit copies every page of the WAL back into the database
and syncs it. An ingestion batch of 1,000 records dirties more than the default 1,000 pages, so
almost every batch paid for a whole checkpoint before it could answer. Here connections raise the
automatic threshold to :data:`SAFETY_NET_PAGES` (so that the WAL stays bounded where nothing else
checkpoints), and after commits (reported by :class:`CheckpointingConnection`) a background
thread runs a ``PASSIVE`` checkpoint, at most every :data:`INTERVAL_S`: it copies pages while
readers and writers go on, and sqlite3 releases the GIL while it runs, so the copy uses the other
core instead of the request's time.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from server.logs import get_logger, log_event

logger = get_logger("db")

#: Automatic checkpoint threshold (pages, 4 KiB each) of every connection: reached only when the
#: background checkpoints fall behind or do not run (a command-line process that exits first).
SAFETY_NET_PAGES = 65_536
#: Commits within this long of a checkpoint wait for the next one: pages that several commits
#: rewrite (index pages above all) are copied back once, and small commits do not each cost a
#: checkpoint's two syncs.
INTERVAL_S = 0.2
#: A WAL longer than this (frames, 128 MiB) is started over once copied back
#: (:meth:`Checkpointer._truncate`). Usually a writer starts it over first: this bounds the rare
#: run without a gap between batches (240,000 SMS and calls in a row reached 21,000 frames).
TRUNCATE_FRAMES = 32_768
#: How long the truncating checkpoint waits for writers and readers; new writers wait meanwhile.
TRUNCATE_WAIT_MS = 50
BUSY_TIMEOUT_MS = 1_000
#: How long a checkpoint that could not copy every frame (a reader still used them) waits to retry.
RETRY_S = 0.05
RETRIES = 20
#: The thread's connections are closed after this long without commits.
IDLE_S = 5.0


class Checkpointer:
    """One daemon thread that checkpoints the databases whose commits :meth:`committed` reports."""

    def __init__(self) -> None:
        self._pending: set[str] = set()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._connections: dict[str, tuple[sqlite3.Connection, int]] = {}  # with the file's inode

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
                if not self._wake.wait_for(lambda: self._pending, timeout=IDLE_S):
                    self._close_all()
                    self._wake.wait_for(lambda: self._pending)
                databases, self._pending = self._pending, set()
            for database in databases:
                self._checkpoint(database)
            time.sleep(INTERVAL_S)

    def _connection(self, database: str) -> sqlite3.Connection | None:
        """The thread's own connection to ``database``; None when the file is gone (a test's). A file
        replaced since (a restored backup) gets a new connection."""
        try:
            inode = os.stat(database).st_ino
        except FileNotFoundError:
            inode = None
        known = self._connections.get(database)
        if known is not None and known[1] != inode:
            known[0].close()
            del self._connections[database]
            known = None
        if inode is None:
            return None
        if known is None:
            connection = sqlite3.connect(database, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
            known = self._connections[database] = (connection, inode)
        return known[0]

    def _close_all(self) -> None:
        for connection, _inode in self._connections.values():
            connection.close()
        self._connections.clear()

    def _checkpoint(self, database: str) -> None:
        try:
            connection = self._connection(database)
            if connection is None:
                return
            for _ in range(RETRIES):
                busy, frames, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                if not busy and copied >= frames:
                    if frames > TRUNCATE_FRAMES:
                        self._truncate(connection)
                    return
                time.sleep(RETRY_S)  # a commit in flight or a reader on older frames: try again
        except sqlite3.Error as error:  # the commit's data is safe in the WAL whatever happens here
            log_event(logger, "db.checkpoint.failed", logging.WARNING, database=database, error=str(error))

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
