"""Call recordings: every OEM recorder folder plus configured extras, incremental by path + size + mtime.

A new or changed file is streamed to ``staging/<device>/<sha256>`` (hashed while it arrives)
and only then enters the outbox, together with its file watermark, in one transaction. A
pull cut short leaves a ``.part`` file that the next sync deletes; nothing on the phone is
touched. Staged files are not fsynced: a copy damaged by a power cut fails the server's
SHA-256 check and is pulled again (see the uploader).
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

from capture import RECORDING_FOLDERS, is_recording_file
from device_agent.collect.context import Collected, Outcome, SyncContext
from device_agent.errors import DeviceGone, HostDiskFull
from device_agent.phone import RemoteFile
from device_agent.store import NewItem

SDCARD = "/sdcard"
_DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def recording_folders(extra: list[str]) -> list[str]:
    folders = [f"{SDCARD}/{f.path}" for f in RECORDING_FOLDERS]
    folders += [e if e.startswith("/") else f"{SDCARD}/{e.strip('/')}" for e in extra]
    return list(dict.fromkeys(folders))


def clean_staging(ctx: SyncContext) -> int:
    """Delete partial pulls and staged files no outbox item refers to (left by a crash)."""
    if not ctx.staging.exists():
        return 0
    keep = ctx.store.staged_paths(ctx.device)
    removed = 0
    for path in ctx.staging.iterdir():
        if str(path) not in keep:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _check_space(ctx: SyncContext, size: int) -> None:
    ctx.staging.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(ctx.staging).free
    if free - size < ctx.settings.min_free_bytes:
        raise HostDiskFull(
            f"host disk nearly full: {free // 2**20} MiB free in {ctx.staging}, "
            f"{ctx.settings.min_free_bytes // 2**20} MiB kept in reserve; free some space and sync again "
            "(nothing was lost: the remaining recordings stay on the phone)"
        )


def _pull(ctx: SyncContext, remote: RemoteFile) -> tuple[Path, str] | None:
    """Stream one file into staging; ``None`` when it changed while being read (retried next sync)."""
    part = ctx.staging / f"{hashlib.sha256(remote.path.encode()).hexdigest()[:32]}.part"
    digest = hashlib.sha256()
    try:
        with open(part, "wb") as out:
            pulled = ctx.phone.pull(remote.path, out, digest.update)
    except OSError as exc:
        part.unlink(missing_ok=True)
        if exc.errno in _DISK_ERRORS:
            raise HostDiskFull(f"host disk full while pulling {remote.path}: {exc.strerror}; nothing was lost") from exc
        raise
    except DeviceGone:
        part.unlink(missing_ok=True)
        raise
    size, after = pulled if pulled is not None else (None, None)
    if size != remote.size or after is None or (after.size, after.mtime) != (remote.size, remote.mtime):
        part.unlink(missing_ok=True)
        return None
    sha = digest.hexdigest()
    final = ctx.staging / sha
    os.replace(part, final)
    return final, sha


def _payload(remote: RemoteFile, local: Path, sha: str) -> dict[str, object]:
    return {
        "local_path": str(local),
        "sha256": sha,
        "size_bytes": remote.size,
        "file_name": remote.path.rsplit("/", 1)[-1],
        "phone_path": remote.path,
        "modified_at": datetime.fromtimestamp(remote.mtime, UTC).isoformat() if remote.mtime else None,
    }


def collect_recordings(ctx: SyncContext) -> Collected:
    clean_staging(ctx)
    seen = ctx.store.seen_files(ctx.device)
    files: list[RemoteFile] = []
    for folder in recording_folders(ctx.settings.extra_recording_folders):
        files.extend(f for f in ctx.phone.walk(folder) if is_recording_file(f.path))
    todo = sorted((f for f in files if seen.get(f.path) != (f.size, f.mtime) and f.size > 0), key=lambda f: f.mtime)
    added = changing = 0
    for index, remote in enumerate(todo, 1):
        ctx.progress("recordings", f"{index}/{len(todo)} {remote.path.rsplit('/', 1)[-1]}")
        _check_space(ctx, remote.size)
        pulled = _pull(ctx, remote)
        if pulled is None:
            changing += 1
            continue
        local, sha = pulled
        added += ctx.store.enqueue(
            ctx.device,
            [NewItem("recording", sha, _payload(remote, local, sha))],
            seen_files=[(remote.path, remote.size, remote.mtime, sha)],
        )
    detail = f"{changing} file(s) changing or gone during the pull; retried next sync" if changing else ""
    ctx.progress("recordings", f"{added} new")
    return Collected("recordings", Outcome.OK, added, detail)
