"""Backup and restore of the database and the data folder (recordings, files) as one .tar.gz.

SQLite is copied with SQLite's online backup API (consistent while the server runs);
PostgreSQL is dumped with ``pg_dump -Fc`` and restored with ``pg_restore``.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from server.config import Settings

MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
FILES_DIR = "files"
FORMAT_VERSION = 1


class BackupError(Exception):
    pass


@dataclass(frozen=True)
class BackupSummary:
    path: Path
    backend: str
    files: int


def _sqlite_path(settings: Settings) -> Path:
    return Path(make_url(settings.effective_database_url).database or "")


def _pg_args(settings: Settings) -> tuple[list[str], dict[str, str]]:
    url = make_url(settings.effective_database_url)
    args = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"]
    env = {"PGPASSWORD": url.password} if url.password else {}
    return [*args, url.database or ""], env


def _pg_tool(name: str) -> str:
    """A PostgreSQL client program: on PATH, or where Debian installs it."""
    found = shutil.which(name) or next(
        iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)), None
    )
    if found is None:
        raise BackupError(f"{name} is not installed (Debian package postgresql-client)")
    return str(found)


def _run(tool: str, arguments: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(
        [_pg_tool(tool), *arguments], env=os.environ | env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise BackupError(f"{tool} failed: {result.stderr.strip()[:500]}")


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy a live SQLite database page by page (consistent, WAL-aware)."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def _data_files(settings: Settings, database_file: Path | None) -> list[Path]:
    if not settings.data_dir.exists():
        return []
    skip = {database_file} if database_file else set()
    skip |= {Path(f"{p}-wal") for p in skip} | {Path(f"{p}-shm") for p in skip}
    return [
        p
        for p in settings.data_dir.rglob("*")
        if p.is_file() and p.resolve() not in {s.resolve() for s in skip}
    ]


def create_backup(settings: Settings, destination: Path, *, now: datetime | None = None) -> BackupSummary:
    backend = "sqlite" if settings.is_sqlite else "postgresql"
    with tempfile.TemporaryDirectory() as tmp:
        staging = Path(tmp)
        database_file = None
        if backend == "sqlite":
            database_file = _sqlite_path(settings)
            if not database_file.exists():
                raise BackupError(f"no database at {database_file}")
            _sqlite_copy(database_file, staging / SQLITE_FILE)
        else:
            args, env = _pg_args(settings)
            _run("pg_dump", ["-Fc", "-f", str(staging / PG_FILE), *args], env)
        files = _data_files(settings, database_file)
        manifest = {
            "format": FORMAT_VERSION,
            "backend": backend,
            "created_at": (now or datetime.now(UTC)).isoformat(),
            "files": len(files),
        }
        (staging / MANIFEST).write_text(json.dumps(manifest))
        destination.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(destination, "w:gz") as archive:
            archive.add(staging / MANIFEST, MANIFEST)
            database_member = SQLITE_FILE if backend == "sqlite" else PG_FILE
            archive.add(staging / database_member, database_member)
            for path in files:
                archive.add(path, f"{FILES_DIR}/{path.relative_to(settings.data_dir).as_posix()}")
    return BackupSummary(path=destination, backend=backend, files=len(files))


def _safe_members(archive: tarfile.TarFile) -> list[tarfile.TarInfo]:
    members = archive.getmembers()
    for member in members:
        name = Path(member.name)
        if name.is_absolute() or ".." in name.parts or not (member.isfile() or member.isdir()):
            raise BackupError(f"refusing suspicious archive member {member.name!r}")
    return members


def restore_backup(settings: Settings, source: Path) -> BackupSummary:
    """Replace the database and data files with the backup's. The server must be stopped."""
    with tempfile.TemporaryDirectory() as tmp:
        staging = Path(tmp)
        try:
            with tarfile.open(source, "r:gz") as archive:
                archive.extractall(staging, members=_safe_members(archive), filter="data")
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise BackupError(f"not a readable fieldcrm backup: {exc}") from exc
        try:
            manifest = json.loads((staging / MANIFEST).read_text())
        except (OSError, ValueError) as exc:
            raise BackupError("not a fieldcrm backup: manifest missing or unreadable") from exc
        if manifest.get("format") != FORMAT_VERSION:
            raise BackupError(f"unsupported backup format {manifest.get('format')!r}")
        backend = "sqlite" if settings.is_sqlite else "postgresql"
        if manifest.get("backend") != backend:
            raise BackupError(
                f"backup is of a {manifest.get('backend')} database, this server uses {backend}"
            )
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        if backend == "sqlite":
            target = _sqlite_path(settings)
            target.parent.mkdir(parents=True, exist_ok=True)
            _sqlite_copy(staging / SQLITE_FILE, target)
        else:
            args, env = _pg_args(settings)
            _run(
                "pg_restore",
                [
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "-d",
                    args[-1],
                    *args[:-1],
                    str(staging / PG_FILE),
                ],
                env,
            )
        restored = 0
        files_root = staging / FILES_DIR
        if files_root.exists():
            for path in files_root.rglob("*"):
                if path.is_file():
                    target_file = settings.data_dir / path.relative_to(files_root)
                    target_file.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(path, target_file)
                    restored += 1
    return BackupSummary(path=source, backend=backend, files=restored)
