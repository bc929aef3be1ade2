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
from device_agent.syncproto import SyncFailed, SyncSession

END = "__fieldcrm_done__"


@dataclass(frozen=True)
class RemoteFile:
    path: str
    size: int
    mtime: int
    is_dir: bool


class Phone:
    """Not thread-safe: one thread works with a phone at a time (the file-sync session is shared)."""

    def __init__(self, client: adbutils.AdbClient, serial: str) -> None:
        self.client = client
        self.device = client.device(serial)
        self.serial = serial
        self._sync: SyncSession | None = None

    def close(self) -> None:
        if self._sync is not None:
            self._sync.close()
            self._sync = None

    @contextmanager
    def _adb(self, what: str) -> Iterator[None]:
        try:
            yield
        except (AdbError, OSError, EOFError) as exc:
            if self._sync is not None:
                self._sync.close()
                self._sync = None
            raise DeviceGone(f"{self.serial}: connection lost during {what}: {exc or type(exc).__name__}") from exc

    def _session(self) -> SyncSession:
        if self._sync is None:
            self._sync = SyncSession(self.client, self.serial)
        return self._sync

    def _shell(self, command: str, timeout: float) -> str:
        """``shell:`` on a direct transport (adbutils would first ask the server its version)."""
        with self._adb(command.split(" ", 1)[0]):
            conn = self.client.make_connection(timeout=timeout)
            with conn:
                conn.send_command(f"host:transport:{self.serial}")
                conn.check_okay()
                conn.send_command(f"shell:{command}")
                conn.check_okay()
                chunks: list[bytes] = []
                while chunk := conn.conn.recv(1 << 16):
                    chunks.append(chunk)
        return b"".join(chunks).decode("utf-8", errors="replace")

    def shell(self, command: str, *, timeout: float = 120) -> str:
        """Run ``command``; the output must end with our marker, otherwise the link broke mid-way."""
        out = self._shell(f"{command}; echo {END}", timeout)
        text = out.replace("\r\n", "\n")
        body, sep, _ = text.rpartition(f"{END}\n") if text.endswith("\n") else text.rpartition(END)
        if not sep:
            raise DeviceGone(f"{self.serial}: output of {command.split(' ', 1)[0]!r} was cut off")
        return body

    def shell_raw(self, command: str, *, timeout: float = 300) -> str:
        """Output as is (for commands that carry their own end marker, e.g. ``content query``)."""
        return self._shell(command, timeout)

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
            entries = self._session().list(path)
        return [RemoteFile(posixpath.join(path, e.name), e.size, e.mtime, stat.S_ISDIR(e.mode)) for e in entries]

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

    def pull(self, path: str, out: BinaryIO, on_chunk: Callable[[bytearray], None] | None = None
             ) -> tuple[int, RemoteFile | None] | None:
        """Stream a file into ``out``: its byte count and its ``STAT`` after the last byte (``None`` when it
        was gone by then); ``None`` when the phone refuses the file (e.g. deleted meanwhile).

        A broken link raises :class:`DeviceGone`.
        """

        def write(chunk: bytearray) -> None:
            out.write(chunk)
            if on_chunk is not None:
                on_chunk(chunk)

        try:
            with self._adb(f"pull of {path}"):
                size, entry = self._session().recv(path, write)
        except DeviceGone as exc:
            if isinstance(exc.__cause__, SyncFailed):
                return None
            raise
        return size, None if entry is None else RemoteFile(path, entry.size, entry.mtime, stat.S_ISDIR(entry.mode))

    def push_bytes(self, data: bytes, path: str) -> None:
        with self._adb(f"push to {path}"):
            self.device.sync.push(data, path, mode=0o644)
