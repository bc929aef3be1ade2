"""The agent's durable state in one SQLite file (WAL, mode 600): outbox, watermarks, fleet, sync log.

Records enter the outbox in the same transaction that advances their watermark, and leave
it only when the server has confirmed them, so a crash at any point loses nothing; the
server's idempotency keys make a re-sent record a no-op, so nothing is duplicated.

``synchronous=NORMAL`` (WAL): a killed process loses no committed transaction; a power cut
may lose the last few, but always a watermark together with its outbox rows, so the next
sync reads those rows from the phone again (capture never deletes anything there).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic_core import to_json

from device_agent.errors import AgentError, HostDiskFull

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    device TEXT NOT NULL,
    kind TEXT NOT NULL,
    item_key TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    UNIQUE (device, kind, item_key)
);
CREATE INDEX IF NOT EXISTS ix_outbox_device_kind ON outbox (device, kind, id);
CREATE TABLE IF NOT EXISTS rejected (
    id INTEGER PRIMARY KEY,
    device TEXT NOT NULL,
    kind TEXT NOT NULL,
    item_key TEXT NOT NULL,
    payload TEXT NOT NULL,
    reason TEXT NOT NULL,
    field TEXT,
    rejected_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS watermark (
    device TEXT NOT NULL,
    source TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (device, source)
);
CREATE TABLE IF NOT EXISTS seen_file (
    device TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (device, path)
);
CREATE TABLE IF NOT EXISTS seen_contact (
    device TEXT NOT NULL,
    contact_id INTEGER NOT NULL,
    digest TEXT NOT NULL,
    PRIMARY KEY (device, contact_id)
);
CREATE TABLE IF NOT EXISTS fleet (
    device TEXT PRIMARY KEY,
    adb_serial TEXT NOT NULL,
    info TEXT NOT NULL,
    last_seen REAL NOT NULL,
    last_sync REAL,
    last_result TEXT
);
CREATE TABLE IF NOT EXISTS sync_log (
    id INTEGER PRIMARY KEY,
    device TEXT NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL,
    phone_time_ms INTEGER,
    host_time_ms INTEGER,
    result TEXT,
    detail TEXT
);
"""

_DISK_FULL = ("database or disk is full", "disk i/o error")


@dataclass(frozen=True)
class OutboxItem:
    id: int
    device: str
    kind: str
    item_key: str
    raw: str
    """The payload as stored: JSON text, sent to the server as it is."""
    attempts: int

    @cached_property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.raw)


@dataclass(frozen=True)
class NewItem:
    kind: str
    item_key: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Unreadable:
    """A phone row the decoders could not read; kept in ``rejected`` so that nothing is silently lost."""

    kind: str
    item_key: str
    payload: dict[str, Any]
    reason: str
    field: str | None


class AgentStore:
    """Thread-safe: one connection per thread, short write transactions."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        os.chmod(path, 0o600)
        self._local = threading.local()
        self._conn().executescript(SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if any(text in str(exc).lower() for text in _DISK_FULL):
                raise HostDiskFull(f"no space left for the agent database {self.path}; nothing was lost") from exc
            raise AgentError(f"agent database {self.path}: {exc}") from exc

    # --- outbox ---------------------------------------------------------------------------
    def enqueue(
        self,
        device: str,
        items: Iterable[NewItem],
        *,
        watermarks: dict[str, Any] | None = None,
        seen_files: Iterable[tuple[str, int, int, str]] = (),
        seen_contacts: Iterable[tuple[int, str]] = (),
        unreadable: Iterable[Unreadable] = (),
    ) -> int:
        """Add items (an item already queued is kept as is), keep unreadable rows aside, advance
        watermarks and remember files and contacts read, in one transaction; returns how many items
        are new."""
        now = time.time()
        with self._write() as conn:
            before = conn.total_changes
            conn.executemany(
                "INSERT OR IGNORE INTO outbox (device, kind, item_key, payload, created_at) VALUES (?, ?, ?, ?, ?)",
                [(device, i.kind, i.item_key, to_json(i.payload).decode(), now) for i in items],
            )
            added = conn.total_changes - before
            for source, value in (watermarks or {}).items():
                conn.execute(
                    "INSERT OR REPLACE INTO watermark (device, source, value, updated_at) VALUES (?, ?, ?, ?)",
                    (device, source, json.dumps(value), now),
                )
            conn.executemany(
                "INSERT OR REPLACE INTO seen_file (device, path, size, mtime, sha256) VALUES (?, ?, ?, ?, ?)",
                [(device, *seen) for seen in seen_files],
            )
            conn.executemany(
                "INSERT OR REPLACE INTO seen_contact (device, contact_id, digest) VALUES (?, ?, ?)",
                [(device, *seen) for seen in seen_contacts],
            )
            conn.executemany(
                "INSERT INTO rejected (device, kind, item_key, payload, reason, field, rejected_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(device, u.kind, u.item_key, json.dumps(u.payload, ensure_ascii=False), u.reason, u.field, now)
                 for u in unreadable],
            )
        return added

    def pending(self, device: str, kind: str, limit: int) -> list[OutboxItem]:
        rows = self._conn().execute(
            "SELECT id, device, kind, item_key, payload, attempts FROM outbox WHERE device = ? AND kind = ? "
            "ORDER BY id LIMIT ?",
            (device, kind, limit),
        )
        return [OutboxItem(*row) for row in rows]

    def pending_counts(self, device: str | None = None) -> dict[str, int]:
        sql = "SELECT kind, count(*) FROM outbox" + (" WHERE device = ?" if device else "") + " GROUP BY kind"
        return dict(self._conn().execute(sql, (device,) if device else ()).fetchall())

    def confirm(self, ids: Iterable[int]) -> None:
        with self._write() as conn:
            conn.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in ids])

    def reject(
        self,
        device: str,
        kind: str,
        item_key: str,
        payload: dict[str, Any],
        reason: str,
        field: str | None,
        outbox_id: int | None = None,
    ) -> None:
        """Keep a record that can never be uploaded (refused by the server, or unreadable) for inspection."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO rejected (device, kind, item_key, payload, reason, field, rejected_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (device, kind, item_key, json.dumps(payload, ensure_ascii=False), reason, field, time.time()),
            )
            if outbox_id is not None:
                conn.execute("DELETE FROM outbox WHERE id = ?", (outbox_id,))

    def note_failure(self, ids: Iterable[int], error: str) -> None:
        with self._write() as conn:
            conn.executemany(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?", [(error, i) for i in ids]
            )

    def drop_staged(self, item_id: int, device: str, phone_path: str) -> None:
        """Forget a recording whose staged copy vanished, so that the next sync pulls it again."""
        with self._write() as conn:
            conn.execute("DELETE FROM outbox WHERE id = ?", (item_id,))
            conn.execute("DELETE FROM seen_file WHERE device = ? AND path = ?", (device, phone_path))

    def drop_outbox(self, device: str) -> None:
        """Forget everything queued for a phone (decommission); staged recordings are deleted."""
        staged = self.staged_paths(device)
        with self._write() as conn:
            conn.execute("DELETE FROM outbox WHERE device = ?", (device,))
        for path in staged:
            Path(path).unlink(missing_ok=True)

    def rejected(self, device: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT device, kind, item_key, reason, field, rejected_at FROM rejected"
        rows = self._conn().execute(sql + (" WHERE device = ?" if device else "") + " ORDER BY id",
                                    (device,) if device else ())
        keys = ("device", "kind", "item_key", "reason", "field", "rejected_at")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def staged_paths(self, device: str) -> set[str]:
        rows = self._conn().execute(
            "SELECT json_extract(payload, '$.local_path') FROM outbox WHERE device = ? AND kind = 'recording'",
            (device,),
        )
        return {r[0] for r in rows if r[0]}

    # --- watermarks -----------------------------------------------------------------------
    def watermark(self, device: str, source: str) -> Any:
        row = self._conn().execute(
            "SELECT value FROM watermark WHERE device = ? AND source = ?", (device, source)
        ).fetchone()
        return None if row is None else json.loads(row[0])

    def synced(self, device: str) -> dict[str, str]:
        """When each source last synced successfully (host time, ISO)."""
        rows = self._conn().execute(
            "SELECT substr(source, 8), value FROM watermark WHERE device = ? AND source LIKE 'synced:%'", (device,)
        )
        return {source: json.loads(value) for source, value in rows}

    def seen_files(self, device: str) -> dict[str, tuple[int, int]]:
        rows = self._conn().execute("SELECT path, size, mtime FROM seen_file WHERE device = ?", (device,))
        return {path: (size, mtime) for path, size, mtime in rows}

    def seen_contacts(self, device: str) -> dict[int, str]:
        """Digest of the content of each contact last queued for upload."""
        rows = self._conn().execute("SELECT contact_id, digest FROM seen_contact WHERE device = ?", (device,))
        return dict(rows.fetchall())

    def forget_device(self, device: str) -> None:
        """Drop watermarks, seen files and contacts (not the outbox): the next sync reads everything again."""
        with self._write() as conn:
            conn.execute("DELETE FROM watermark WHERE device = ?", (device,))
            conn.execute("DELETE FROM seen_file WHERE device = ?", (device,))
            conn.execute("DELETE FROM seen_contact WHERE device = ?", (device,))

    # --- fleet and sync log ---------------------------------------------------------------
    def note_device(self, device: str, adb_serial: str, info: dict[str, Any]) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO fleet (device, adb_serial, info, last_seen) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (device) DO UPDATE SET adb_serial = excluded.adb_serial, info = excluded.info, "
                "last_seen = excluded.last_seen",
                (device, adb_serial, json.dumps(info, ensure_ascii=False), time.time()),
            )

    def fleet(self) -> dict[str, dict[str, Any]]:
        rows = self._conn().execute("SELECT device, adb_serial, info, last_seen, last_sync, last_result FROM fleet")
        return {
            r[0]: {"adb_serial": r[1], "info": json.loads(r[2]), "last_seen": r[3], "last_sync": r[4],
                   "last_result": r[5]}
            for r in rows
        }

    def device_for_adb_serial(self, adb_serial: str) -> str | None:
        row = self._conn().execute(
            "SELECT device FROM fleet WHERE adb_serial = ? ORDER BY last_seen DESC", (adb_serial,)
        ).fetchone()
        return None if row is None else row[0]

    def start_sync(self, device: str, phone_time_ms: int | None, host_time_ms: int) -> int:
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO sync_log (device, started_at, phone_time_ms, host_time_ms) VALUES (?, ?, ?, ?)",
                (device, time.time(), phone_time_ms, host_time_ms),
            )
            return int(cursor.lastrowid or 0)

    def finish_sync(self, sync_id: int, device: str, result: str, detail: dict[str, Any]) -> None:
        now = time.time()
        with self._write() as conn:
            conn.execute(
                "UPDATE sync_log SET finished_at = ?, result = ?, detail = ? WHERE id = ?",
                (now, result, json.dumps(detail, ensure_ascii=False, default=str), sync_id),
            )
            conn.execute(
                "UPDATE fleet SET last_result = ?, last_sync = CASE WHEN ? = 'ok' THEN ? ELSE last_sync END "
                "WHERE device = ?",
                (result, result, now, device),
            )
