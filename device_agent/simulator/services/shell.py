"""`shell:`, `shell,v2,...:` and `exec:` services, one-shot and interactive."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..adb.stream import Stream, StreamClosed
from ..shell import Output, Session

if TYPE_CHECKING:
    from ..core import PhoneCore

ID_STDIN, ID_STDOUT, ID_EXIT, ID_CLOSE_STDIN = 0, 1, 3, 4  # 2 stderr is the fd itself, 5 window size is ignored
_FRAME = 64 * 1024


@dataclass(frozen=True)
class ShellRequest:
    command: str
    v2: bool
    pty: bool


def parse_service(name: str) -> ShellRequest | None:
    """`shell:cmd`, `shell,v2,TERM=xterm,raw:cmd`, `exec:cmd` -> request; None if not a shell service."""
    head, sep, command = name.partition(":")
    if not sep:
        return None
    kind, *args = head.split(",")
    if kind == "exec":
        return ShellRequest(command, v2=False, pty=False)
    if kind != "shell":
        return None
    v2 = "v2" in args
    pty = "pty" in args or (not command and "raw" not in args)
    return ShellRequest(command, v2=v2, pty=pty)


class ShellIO:
    """Writes output the way the protocol wants: v2 frames, or raw bytes (with a pty's CRLF)."""

    def __init__(self, stream: Stream, request: ShellRequest) -> None:
        self.stream = stream
        self.request = request
        self._pending = bytearray()

    async def write(self, output: Output, exit_status: int | None = None) -> None:
        """Send output (and the exit frame, in the same packet, when given)."""
        buffer = bytearray()
        for fd, data in output.chunks:
            if self.request.pty:
                data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
            if self.request.v2:
                for start in range(0, len(data), _FRAME):
                    piece = data[start:start + _FRAME]
                    buffer += bytes([fd]) + len(piece).to_bytes(4, "little") + piece
            else:
                buffer += data
        if exit_status is not None and self.request.v2:
            buffer += bytes([ID_EXIT]) + (1).to_bytes(4, "little") + bytes([exit_status & 0xFF])
        if buffer:
            await self.stream.write(buffer)

    async def exit(self, status: int) -> None:
        await self.write(Output(), status)

    async def read_input(self) -> bytes | None:
        """Next stdin bytes; None at end of input (close-stdin frame or closed stream)."""
        if not self.request.v2:
            chunk = await self.stream.read()
            return chunk or None
        while True:
            header = await self.stream.read_exactly(5)
            size = int.from_bytes(header[1:5], "little")
            data = await self.stream.read_exactly(size) if size else b""
            if header[0] == ID_STDIN:
                return data
            if header[0] == ID_CLOSE_STDIN:
                return None


async def _drain_input(io: ShellIO) -> None:
    with contextlib.suppress(StreamClosed):
        while await io.read_input() is not None:
            pass


async def serve_shell(core: PhoneCore, stream: Stream, request: ShellRequest) -> None:
    io = ShellIO(stream, request)
    session = Session(core)
    if not request.command:
        await _interactive(core, io, session)
        return
    drain = asyncio.create_task(_drain_input(io))
    try:
        output, status = await asyncio.to_thread(session.run, request.command)
        if session.hold:
            await io.write(output)
            await _hold(core, session.hold, stream)
            await io.exit(status)
        else:
            await io.write(output, status)
    finally:
        drain.cancel()


async def _hold(core: PhoneCore, service: str, stream: Stream) -> None:
    """Keep a foreground service (the uiautomator2 server) alive while its shell stream is open."""
    port = int(service.split(":", 1)[1])
    core.ui_server_ports[port] = core.ui_server_ports.get(port, 0) + 1
    try:
        while not stream.remote_closed:
            chunk = await stream.read()
            if not chunk:
                break
    finally:
        core.ui_server_ports[port] -= 1


async def _interactive(core: PhoneCore, io: ShellIO, session: Session) -> None:
    prompt = f"{core.state.identity.device}:/ $ ".encode() if io.request.pty else b""
    if prompt:
        await io.stream.write(_frame(io, prompt))
    line = bytearray()
    while True:
        data = await io.read_input()
        if data is None:
            break
        for byte in data:
            if byte in (0x0D, 0x0A):
                if io.request.pty:
                    await io.stream.write(_frame(io, b"\r\n"))
                output, _status = await asyncio.to_thread(session.run, line.decode("utf-8", "replace"))
                line.clear()
                await io.write(output)
                if session.exited:
                    await io.exit(session.status)
                    return
                if prompt:
                    await io.stream.write(_frame(io, prompt))
            elif byte in (0x7F, 0x08):
                if line:
                    line.pop()
                    if io.request.pty:
                        await io.stream.write(_frame(io, b"\b \b"))
            else:
                line.append(byte)
                if io.request.pty:
                    await io.stream.write(_frame(io, bytes([byte])))
    await io.exit(session.status)


def _frame(io: ShellIO, data: bytes) -> bytes:
    if io.request.v2:
        return bytes([ID_STDOUT]) + len(data).to_bytes(4, "little") + data
    return data
