"""The phone's file system: device paths mapped onto a host directory.

`/sdcard`, `/storage/self/primary` and `/mnt/sdcard` are aliases of
`/storage/emulated/0`, as on a real phone. Only shared storage and
`/data/local/tmp` are writable by the shell user.
"""

from __future__ import annotations

import errno
import os
import posixpath
import shutil
import stat as st
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

SDCARD = "/storage/emulated/0"
TMP = "/data/local/tmp"
_ALIASES = ("/sdcard", "/storage/self/primary", "/mnt/sdcard")
_WRITABLE = (SDCARD, TMP)
_SKELETON = (
    SDCARD + "/Android/data", SDCARD + "/DCIM/Camera", SDCARD + "/Download", SDCARD + "/Music",
    SDCARD + "/Pictures", SDCARD + "/Documents", SDCARD + "/Alarms", SDCARD + "/Movies",
    TMP, "/system/bin", "/system/app", "/vendor", "/proc", "/dev", "/etc", "/data/app",
)
MAX_PATH = 1024


class FsError(OSError):
    """An OSError carrying the device path, formatted like toybox does."""

    def __init__(self, code: int, path: str) -> None:
        super().__init__(code, os.strerror(code), path)
        self.path = path


@dataclass(frozen=True, slots=True)
class Entry:
    """What `stat` says about a device path (ownership the way Android shows it)."""

    path: str
    mode: int
    size: int
    mtime: float
    uid: int
    gid: int
    user: str
    group: str
    nlink: int
    inode: int
    link_target: str | None = None

    @property
    def is_dir(self) -> bool:
        return st.S_ISDIR(self.mode)


class FileSystem:
    def __init__(self, root: Path) -> None:
        self.root = root
        for directory in _SKELETON:
            (root / directory.lstrip("/")).mkdir(parents=True, exist_ok=True)

    @staticmethod
    def canonical(path: str, cwd: str = "/") -> str:
        """Absolute, normalised device path with storage aliases resolved."""
        if len(path) > MAX_PATH:
            raise FsError(errno.ENAMETOOLONG, path[:64])
        full = posixpath.normpath(posixpath.join(cwd, path)) if path else cwd
        full = "/" + full.lstrip("/")
        for alias in _ALIASES:
            if full == alias or full.startswith(alias + "/"):
                return SDCARD + full[len(alias):]
        return full

    def host_path(self, path: str) -> Path:
        return self.root / self.canonical(path).lstrip("/")

    @staticmethod
    def _under(path: str, prefix: str) -> bool:
        return path == prefix or path.startswith(prefix + "/")

    def is_writable(self, path: str) -> bool:
        canonical = self.canonical(path)
        return any(self._under(canonical, prefix) for prefix in _WRITABLE)

    def stat(self, path: str) -> Entry:
        canonical = self.canonical(path)
        try:
            info = self.host_path(canonical).stat()
        except FileNotFoundError as exc:
            raise FsError(errno.ENOENT, path) from exc
        except NotADirectoryError as exc:
            raise FsError(errno.ENOTDIR, path) from exc
        link = None
        if any(path.rstrip("/") == alias for alias in _ALIASES):
            link = "/storage/self/primary"
        return self._entry(canonical, info, link)

    def _entry(self, canonical: str, info: os.stat_result, link: str | None) -> Entry:
        is_dir = st.S_ISDIR(info.st_mode)
        if self._under(canonical, SDCARD):
            mode = (st.S_IFDIR | 0o771) if is_dir else (st.S_IFREG | 0o660)
            owner = (10150, 1023, "u0_a150", "media_rw")
        elif self._under(canonical, TMP):
            mode = info.st_mode
            owner = (2000, 2000, "shell", "shell")
        else:
            mode = (st.S_IFDIR | 0o755) if is_dir else (st.S_IFREG | 0o644)
            owner = (0, 0, "root", "root")
        if link is not None:
            mode = st.S_IFLNK | 0o777
        return Entry(canonical, mode, 0 if is_dir else info.st_size, info.st_mtime, *owner,
                     info.st_nlink, info.st_ino % 1_000_000, link)

    def listdir(self, path: str) -> list[Entry]:
        """Entries of a directory, sorted by name (toybox sorts too)."""
        canonical = self.canonical(path)
        host = self.host_path(canonical)
        if not host.exists():
            raise FsError(errno.ENOENT, path)
        if not host.is_dir():
            raise FsError(errno.ENOTDIR, path)
        entries = []
        for name in sorted(os.listdir(host)):
            child = posixpath.join(canonical, name)
            entries.append(self._entry(child, (host / name).stat(), None))
        if canonical == "/":
            entries.append(Entry("/sdcard", st.S_IFLNK | 0o777, 21, 1230768000.0, 0, 0, "root", "root", 1, 17,
                                 "/storage/self/primary"))
            entries.sort(key=lambda e: e.path)
        return entries

    def read_bytes(self, path: str) -> bytes:
        host = self.host_path(path)
        if host.is_dir():
            raise FsError(errno.EISDIR, path)
        try:
            return host.read_bytes()
        except FileNotFoundError as exc:
            raise FsError(errno.ENOENT, path) from exc

    def open_read(self, path: str) -> BinaryIO:
        host = self.host_path(path)
        if host.is_dir():
            raise FsError(errno.EISDIR, path)
        try:
            return host.open("rb")
        except FileNotFoundError as exc:
            raise FsError(errno.ENOENT, path) from exc

    def prepare_write(self, path: str, *, make_parents: bool) -> Path:
        """Host path to write device path to; checks permissions like the shell user meets them."""
        canonical = self.canonical(path)
        if not self.is_writable(canonical):
            raise FsError(errno.EROFS if canonical.startswith(("/system", "/vendor")) else errno.EACCES, path)
        host = self.host_path(canonical)
        if host.is_dir():
            raise FsError(errno.EISDIR, path)
        if make_parents:
            host.parent.mkdir(parents=True, exist_ok=True)
        elif not host.parent.is_dir():
            raise FsError(errno.ENOENT, path)
        return host

    def write_bytes(self, path: str, data: bytes, mtime: float | None = None) -> None:
        host = self.prepare_write(path, make_parents=True)
        host.write_bytes(data)
        if mtime is not None:
            os.utime(host, (mtime, mtime))

    def mkdir(self, path: str, *, parents: bool) -> None:
        canonical = self.canonical(path)
        if not self.is_writable(canonical):
            raise FsError(errno.EACCES, path)
        host = self.host_path(canonical)
        if host.exists() and not parents:
            raise FsError(errno.EEXIST, path)
        try:
            host.mkdir(parents=parents, exist_ok=parents)
        except FileNotFoundError as exc:
            raise FsError(errno.ENOENT, path) from exc

    def remove(self, path: str, *, recursive: bool) -> None:
        canonical = self.canonical(path)
        if not self.is_writable(canonical) or canonical in _WRITABLE:
            raise FsError(errno.EACCES, path)
        host = self.host_path(canonical)
        if host.is_dir() and not host.is_symlink():
            if not recursive:
                raise FsError(errno.EISDIR, path)
            shutil.rmtree(host)
        elif host.exists() or host.is_symlink():
            host.unlink()
        else:
            raise FsError(errno.ENOENT, path)

    def used_bytes(self) -> int:
        """Bytes held in shared storage and /data/local/tmp."""
        total = 0
        for prefix in _WRITABLE:
            for dirpath, _dirs, files in os.walk(self.root / prefix.lstrip("/")):
                total += sum(os.path.getsize(os.path.join(dirpath, name)) for name in files)
        return total
