"""adb's file-sync protocol on one connection for many requests, the way ``adb pull`` uses it.

adbutils opens a new connection (and asks the server its version) for every STAT, LIST and
RECV; for hundreds of recordings that costs more than the transfers. One ``sync:`` session
here serves a whole sync: ``LIST`` and ``RECV`` (+ ``STAT``) requests one after the other, ``QUIT`` at
the end.

The connection is read in blocks of up to :data:`BLOCK` (whatever has arrived) and a file's
``DATA`` payloads are handed on in pieces of about that size: a reader that other threads keep
from running catches up with a few large calls instead of three small ones per 64 KiB frame,
each of which would wait for the interpreter lock again. A pull asks for the file's ``STAT`` in
the same write as its ``RECV``: the phone answers it after the last byte, with no round trip.
"""

from __future__ import annotations

import contextlib
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass

import adbutils
from adbutils.errors import AdbError

#: Bytes read from the connection at most per call, and handed to ``write`` at least per call (but the last).
BLOCK = 1 << 20
_U32 = struct.Struct("<I")
#: Whether the host can acknowledge received bytes at once, so that a pull's STAT may ride with its RECV.
QUICK_ACK = hasattr(socket, "TCP_QUICKACK")


class SyncFailed(AdbError):
    """The phone answered FAIL (e.g. no such file to RECV)."""


@dataclass(frozen=True)
class SyncEntry:
    name: str
    mode: int
    size: int
    mtime: int


class SyncSession:
    def __init__(self, client: adbutils.AdbClient, serial: str, timeout: float = 60.0) -> None:
        self._conn = client.make_connection(timeout=timeout)
        self._buffer = bytearray(BLOCK)
        self._view = memoryview(self._buffer)
        self._start = self._end = 0  # unread bytes are _buffer[_start:_end]
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
            self._conn.conn.sendall(self._request(b"QUIT", ""))
        self._conn.close()

    @staticmethod
    def _request(command: bytes, path: str) -> bytes:
        encoded = path.encode("utf-8")
        return command + _U32.pack(len(encoded)) + encoded

    def _take(self, n: int) -> memoryview:
        """The next ``n`` (≤ BLOCK) bytes, valid until the next call (EOFError when the phone goes away)."""
        if self._end - self._start < n:
            if self._start + n > BLOCK:
                left = self._end - self._start
                self._buffer[:left] = self._buffer[self._start:self._end]
                self._start, self._end = 0, left
            sock = self._conn.conn
            while self._end - self._start < n:
                count = sock.recv_into(self._view[self._end:])
                if count == 0:
                    raise EOFError(f"connection closed after {self._end - self._start} of {n} bytes")
                self._end += count
        view = self._view[self._start:self._start + n]
        self._start += n
        return view

    def _ack_now(self) -> None:
        """Acknowledge what has arrived at once: the adb server holds a small answer back (Nagle)
        until the bytes before it are acknowledged, which the host would otherwise delay by up to 40 ms."""
        with contextlib.suppress(OSError):  # only a delay is at stake
            self._conn.conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)

    def _read(self, n: int) -> bytes:
        return bytes(self._take(n))

    def _u32(self) -> int:
        return _U32.unpack(self._take(4))[0]

    def _fail(self, path: str) -> SyncFailed:
        return SyncFailed(f"{path}: {self._read(self._u32()).decode('utf-8', 'replace')}")

    def _stat_answer(self, path: str) -> SyncEntry | None:
        if self._read(4) != b"STAT":
            raise AdbError(f"unexpected answer to STAT {path}")
        mode, size, mtime = struct.unpack("<III", self._take(12))
        if mode == 0 and size == 0 and mtime == 0:
            return None
        return SyncEntry(path, mode, size, mtime)

    def list(self, path: str) -> list[SyncEntry]:
        """Entries of a folder without ``.`` and ``..`` (empty when it does not exist)."""
        self._conn.conn.sendall(self._request(b"LIST", path))
        entries: list[SyncEntry] = []
        while True:
            tag = self._read(4)
            if tag == b"DONE":
                self._take(16)
                return entries
            if tag != b"DENT":
                raise AdbError(f"unexpected answer to LIST {path}: {tag!r}")
            mode, size, mtime, length = struct.unpack("<IIII", self._take(16))
            name = self._read(length).decode("utf-8", "replace")
            if name not in (".", ".."):
                entries.append(SyncEntry(name, mode, size, mtime))

    def recv(self, path: str, write: Callable[[bytearray], object]) -> tuple[int, SyncEntry | None]:
        """Stream a file to ``write`` (pieces of at least BLOCK bytes but the last; each is a new buffer);
        returns the byte count and the file's ``STAT`` read after its last byte (``None``: gone by then).

        A file the phone refuses raises :class:`SyncFailed`; the phone then ends the session.
        """
        # Where the host cannot acknowledge at once (TCP_QUICKACK is Linux's), the STAT goes after
        # the last byte instead: its request carries the acknowledgement the answer waits for.
        request = self._request(b"RECV", path)
        self._conn.conn.sendall(request + self._request(b"STAT", path) if QUICK_ACK else request)
        total = 0
        piece = bytearray()
        while True:
            tag = self._read(4)
            if tag == b"DATA":
                length = self._u32()
                piece += self._take(length)
                total += length
                if len(piece) >= BLOCK:
                    write(piece)
                    piece = bytearray()
            elif tag == b"DONE":
                self._take(4)
                if piece:
                    write(piece)
                if QUICK_ACK:
                    self._ack_now()
                else:
                    self._conn.conn.sendall(self._request(b"STAT", path))
                return total, self._stat_answer(path)
            elif tag == b"FAIL":
                raise self._fail(path)
            else:
                raise AdbError(f"unexpected answer to RECV {path}: {tag!r}")
