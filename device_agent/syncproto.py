"""adb's file-sync protocol on one connection for many requests, the way ``adb pull`` uses it.

adbutils opens a new connection (and asks the server its version) for every STAT, LIST and
RECV; for hundreds of recordings that costs more than the transfers. One ``sync:`` session
here serves a whole sync: ``LIST``/``STAT``/``RECV`` requests one after the other, ``QUIT`` at
the end.
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Callable
from dataclasses import dataclass

import adbutils
from adbutils.errors import AdbError


class SyncFailed(AdbError):
    """The phone answered FAIL (e.g. no such file); the session is still usable."""


@dataclass(frozen=True)
class SyncEntry:
    name: str
    mode: int
    size: int
    mtime: int


class SyncSession:
    def __init__(self, client: adbutils.AdbClient, serial: str, timeout: float = 60.0) -> None:
        self._conn = client.make_connection(timeout=timeout)
        try:
            self._conn.send_command(f"host:transport:{serial}")
            self._conn.check_okay()
            self._conn.send_command("sync:")
            self._conn.check_okay()
        except BaseException:
            self._conn.close()
            raise

    def close(self) -> None:
        with contextlib.suppress(AdbError, OSError):
            self._request(b"QUIT", "")
        self._conn.close()

    def _request(self, command: bytes, path: str) -> None:
        encoded = path.encode("utf-8")
        self._conn.conn.sendall(command + struct.pack("<I", len(encoded)) + encoded)

    def _read(self, n: int) -> bytes:
        """Exactly ``n`` bytes (raises EOFError when the phone goes away mid-way)."""
        buffer = bytearray(n)
        view = memoryview(buffer)
        got = 0
        sock = self._conn.conn
        while got < n:
            count = sock.recv_into(view[got:])
            if count == 0:
                raise EOFError(f"connection closed after {got} of {n} bytes")
            got += count
        return bytes(buffer)

    def _fail(self, path: str) -> SyncFailed:
        (length,) = struct.unpack("<I", self._read(4))
        return SyncFailed(f"{path}: {self._read(length).decode('utf-8', 'replace')}")

    def stat(self, path: str) -> SyncEntry | None:
        """``None`` when the path does not exist (the phone answers all zeros)."""
        self._request(b"STAT", path)
        if self._read(4) != b"STAT":
            raise AdbError(f"unexpected answer to STAT {path}")
        mode, size, mtime = struct.unpack("<III", self._read(12))
        if mode == 0 and size == 0 and mtime == 0:
            return None
        return SyncEntry(path, mode, size, mtime)

    def list(self, path: str) -> list[SyncEntry]:
        """Entries of a folder without ``.`` and ``..`` (empty when it does not exist)."""
        self._request(b"LIST", path)
        entries: list[SyncEntry] = []
        while True:
            tag = self._read(4)
            if tag == b"DONE":
                self._read(16)
                return entries
            if tag != b"DENT":
                raise AdbError(f"unexpected answer to LIST {path}: {tag!r}")
            mode, size, mtime, length = struct.unpack("<IIII", self._read(16))
            name = self._read(length).decode("utf-8", "replace")
            if name not in (".", ".."):
                entries.append(SyncEntry(name, mode, size, mtime))

    def recv(self, path: str, write: Callable[[bytes], object]) -> int:
        """Stream a file to ``write``; returns the byte count."""
        self._request(b"RECV", path)
        total = 0
        while True:
            tag = self._read(4)
            if tag == b"DATA":
                (length,) = struct.unpack("<I", self._read(4))
                chunk = self._read(length)
                write(chunk)
                total += length
            elif tag == b"DONE":
                self._read(4)
                return total
            elif tag == b"FAIL":
                raise self._fail(path)
            else:
                raise AdbError(f"unexpected answer to RECV {path}: {tag!r}")
