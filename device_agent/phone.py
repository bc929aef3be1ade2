"""One connected phone: shell commands, properties, file listing and streaming pulls over adb.

Every adb failure surfaces as :class:`DeviceGone` (the connection broke) so that callers can
stop cleanly and resume on the next sync.
"""

from __future__ import annotations

import posixpath
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

import adbutils
from adbutils.errors import AdbError

from device_agent.errors import DeviceGone

END = "__fieldcrm_done__"


@dataclass(frozen=True)
class RemoteFile:
    path: str
    size: int
    mtime: int
    is_dir: bool


class Phone:
    def __init__(self, device: adbutils.AdbDevice, serial: str) -> None:
        self.device = device
        self.serial = serial

    @contextmanager
    def _adb(self, what: str) -> Iterator[None]:
        try:
            yield
        except (AdbError, OSError, EOFError) as exc:
            raise DeviceGone(f"{self.serial}: connection lost during {what}: {exc or type(exc).__name__}") from exc

    def shell(self, command: str, *, timeout: float = 120) -> str:
        """Run ``command``; the output must end with our marker, otherwise the link broke mid-way."""
        with self._adb(command.split(" ", 1)[0]):
            out = self.device.shell(f"{command}; echo {END}", timeout=timeout, rstrip=False)
        assert isinstance(out, str)
        text = out.replace("\r\n", "\n")
        body, sep, _ = text.rpartition(f"{END}\n") if text.endswith("\n") else text.rpartition(END)
        if not sep:
            raise DeviceGone(f"{self.serial}: output of {command.split(' ', 1)[0]!r} was cut off")
        return body

    def shell_raw(self, command: str, *, timeout: float = 300) -> str:
        """Output as is (for commands that carry their own end marker, e.g. ``content query``)."""
        with self._adb(command.split(" ", 1)[0]):
            out = self.device.shell(command, timeout=timeout, rstrip=False)
        assert isinstance(out, str)
        return out

    def props(self) -> dict[str, str]:
        props: dict[str, str] = {}
        for line in self.shell("getprop").splitlines():
            if line.startswith("[") and "]: [" in line and line.endswith("]"):
                key, _, value = line[1:-1].partition("]: [")
                props[key] = value
        return props

    def listdir(self, path: str) -> list[RemoteFile]:
        """Entries of a folder (``[]`` when it does not exist)."""
        with self._adb("sync LIST"):
            entries = list(self.device.sync.iter_directory(path))
        return [
            RemoteFile(
                path=posixpath.join(path, e.path),
                size=e.size,
                mtime=int(e.mtime.timestamp()) if e.mtime else 0,
                is_dir=stat.S_ISDIR(e.mode),
            )
            for e in entries
            if e.path not in (".", "..")
        ]

    def walk(self, path: str, depth: int = 3) -> list[RemoteFile]:
        """Files under ``path``, descending at most ``depth`` folders."""
        files: list[RemoteFile] = []
        for entry in self.listdir(path):
            if entry.is_dir:
                if depth > 0:
                    files.extend(self.walk(entry.path, depth - 1))
            else:
                files.append(entry)
        return files

    def stat(self, path: str) -> RemoteFile | None:
        with self._adb("sync STAT"):
            info = self.device.sync.stat(path)
        if info.mtime is None and info.size == 0 and info.mode == 0:
            return None
        return RemoteFile(path, info.size, int(info.mtime.timestamp()) if info.mtime else 0, stat.S_ISDIR(info.mode))

    def pull(self, path: str, out: BinaryIO, on_chunk: Callable[[bytes], None] | None = None) -> int:
        """Stream a file into ``out``; returns the byte count. A broken link raises :class:`DeviceGone`."""
        total = 0
        with self._adb(f"pull of {path}"):
            for chunk in self.device.sync.iter_content(path):
                out.write(chunk)
                if on_chunk is not None:
                    on_chunk(chunk)
                total += len(chunk)
        return total

    def push_bytes(self, data: bytes, path: str) -> None:
        with self._adb(f"push to {path}"):
            self.device.sync.push(data, path, mode=0o644)
