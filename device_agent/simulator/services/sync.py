"""The `sync:` service: STAT, LIST, RECV, SEND, QUIT, with adbd's replies and limits."""

from __future__ import annotations

import contextlib
import errno
import os
import stat as st
import struct
from pathlib import Path
from typing import TYPE_CHECKING

from ..adb.stream import Stream, StreamClosed
from ..vfs import MAX_PATH, FsError

if TYPE_CHECKING:
    from ..adb.transport import AdbTransport
    from ..core import PhoneCore

SYNC_DATA_MAX = 64 * 1024
_U32 = struct.Struct("<I")
_DENT = struct.Struct("<4sIIII")
_STAT = struct.Struct("<4sIII")


def _fail(message: str) -> bytes:
    data = message.encode()
    return b"FAIL" + _U32.pack(len(data)) + data


async def serve_sync(core: PhoneCore, stream: Stream, transport: AdbTransport) -> None:
    while True:
        try:
            header = await stream.read_exactly(8)
        except StreamClosed:
            return
        request, length = header[:4], _U32.unpack_from(header, 4)[0]
        if length > MAX_PATH:
            await stream.write(_fail("path too long"))
            return
        path = (await stream.read_exactly(length)).decode("utf-8", "replace")
        if request == b"STAT":
            await stream.write(_stat(core, path))
        elif request == b"LIST":
            await stream.write(_list(core, path))
        elif request == b"RECV":
            if not await _recv(core, stream, transport, path):
                return
        elif request == b"SEND":
            if not await _send(core, stream, path):
                return
        elif request == b"QUIT":
            return
        else:
            await stream.write(_fail(f"unknown command {request!r}"))
            return


def _stat(core: PhoneCore, path: str) -> bytes:
    try:
        entry = core.fs.stat(path)
    except (FsError, OSError):
        return _STAT.pack(b"STAT", 0, 0, 0)
    size = entry.size if not entry.is_dir else 4096
    return _STAT.pack(b"STAT", entry.mode, size & 0xFFFFFFFF, int(entry.mtime))


def _list(core: PhoneCore, path: str) -> bytes:
    out = bytearray()
    try:
        this = core.fs.stat(core.fs.canonical(path))
        entries = [(".", this), ("..", this)] + [(e.path.rsplit("/", 1)[-1], e) for e in core.fs.listdir(path)]
    except (FsError, OSError):
        entries = []
    for name, entry in entries:
        raw = name.encode()
        size = entry.size if not entry.is_dir else 4096
        out += _DENT.pack(b"DENT", entry.mode, size & 0xFFFFFFFF, int(entry.mtime), len(raw)) + raw
    out += _DENT.pack(b"DONE", 0, 0, 0, 0)
    return bytes(out)


async def _recv(core: PhoneCore, stream: Stream, transport: AdbTransport, path: str) -> bool:
    """Stream a file as DATA chunks of at most 64 KiB, several per WRTE."""
    try:
        handle = core.fs.open_read(path)
    except FsError as exc:
        await stream.write(_fail(f"open failed: {exc.strerror}"))
        return False
    sent = 0
    done = False
    with handle:
        budget = max(transport.max_payload, SYNC_DATA_MAX + 8)
        while not done:
            packet = bytearray()
            while len(packet) + SYNC_DATA_MAX + 8 <= budget:
                chunk = handle.read(SYNC_DATA_MAX)
                if not chunk:
                    done = True
                    break
                packet += b"DATA" + _U32.pack(len(chunk)) + chunk
            if done:
                # adbd's DATA and DONE usually reach the host in one packet; a lone 8-byte DONE
                # would sit behind Nagle on the host's client socket.
                packet += b"DONE" + _U32.pack(0)
            cut = core.faults.take_cut(sent, len(packet))
            if cut is not None:
                if cut:
                    await stream.write(memoryview(packet)[:cut])
                transport.abort()
                raise StreamClosed
            await stream.write(packet)
            sent += len(packet)
    return True


async def _send(core: PhoneCore, stream: Stream, spec: str) -> bool:
    """Receive DATA chunks into a file; on failure reply FAIL and swallow the rest, like adbd."""
    path, _, mode_text = spec.rpartition(",")
    if not path:
        path, mode_text = spec, "33188"
    error: str | None = None
    handle = None
    tmp: Path | None = None
    try:
        target = core.fs.prepare_write(path, make_parents=True)
        tmp = target.with_name(f".{target.name}.sync-tmp")
        handle = tmp.open("wb")
    except OSError as exc:
        error = f"couldn't create file: {exc.strerror}"
    free = core.free_bytes() if handle else 0
    written = 0
    done = False
    try:
        while True:
            header = await stream.read_exactly(8)
            kind, size = header[:4], _U32.unpack_from(header, 4)[0]
            if kind == b"DONE":
                mtime = size
                break
            if kind != b"DATA" or size > SYNC_DATA_MAX:
                await stream.write(_fail("invalid data message" if kind != b"DATA" else "oversize data message"))
                return False
            data = await stream.read_exactly(size)
            written += len(data)
            if handle is not None and written > free:
                error = f"write failed: {os.strerror(errno.ENOSPC)}"
                handle.close()
                handle = None
            if handle is not None:
                handle.write(data)
        if error is not None:
            await stream.write(_fail(error))
            return False
        assert handle is not None and tmp is not None
        handle.close()
        os.replace(tmp, target)
        done = True
    finally:
        if handle is not None:
            handle.close()
        if not done and tmp is not None:
            tmp.unlink(missing_ok=True)
    with contextlib.suppress(ValueError):
        os.chmod(target, st.S_IMODE(int(mode_text)) or 0o644)
    os.utime(target, (mtime, mtime))
    await stream.write(b"OKAY" + _U32.pack(0))
    return True
