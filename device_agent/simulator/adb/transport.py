"""One TCP connection from an adb server: handshake, optional AUTH, stream routing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Protocol

from .protocol import (
    A_AUTH,
    A_CLSE,
    A_CNXN,
    A_OKAY,
    A_OPEN,
    A_WRTE,
    AUTH_RSAPUBLICKEY,
    AUTH_SIGNATURE,
    AUTH_TOKEN,
    HEADER_SIZE,
    MAX_PAYLOAD,
    VERSION,
    VERSION_SKIP_CHECKSUM,
    Packet,
    ProtocolError,
    checksum,
    header,
    read_packet,
)
from .stream import Stream, StreamClosed

log = logging.getLogger(__name__)

_COALESCE_LIMIT = 8192

ServiceHandler = Callable[[Stream], Awaitable[None]]


class Endpoint(Protocol):
    """What a transport needs from the phone it serves."""

    def banner(self) -> bytes: ...
    def is_authorized(self) -> bool: ...
    def auth_pending(self, transport: AdbTransport) -> None: ...
    def transport_closed(self, transport: AdbTransport) -> None: ...
    def open_service(self, name: str, transport: AdbTransport) -> ServiceHandler | None: ...
    def link_rate(self) -> float | None: ...


class AdbTransport:
    def __init__(self, endpoint: Endpoint, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.endpoint = endpoint
        self._reader = reader
        self._writer = writer
        self.max_payload = MAX_PAYLOAD
        self._checksums = True
        self.online = False
        self.host_banner = ""
        self._streams: dict[int, Stream] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._next_id = 1
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    async def run(self) -> None:
        try:
            while True:
                packet = await read_packet(self._reader, max_payload=MAX_PAYLOAD, verify_checksum=self._checksums)
                await self._handle(packet)
        except (asyncio.IncompleteReadError, ConnectionError, StreamClosed):
            pass
        except ProtocolError as exc:
            log.warning("sim.adb.protocol_error error=%s", exc)
        finally:
            self._teardown()

    async def send(self, command: int, arg0: int, arg1: int, data: bytes | memoryview = b"") -> None:
        if self._writer.is_closing():
            raise StreamClosed
        rate = self.endpoint.link_rate()
        if rate:
            await asyncio.sleep((HEADER_SIZE + len(data)) / rate)
        head = header(command, arg0, arg1, len(data), checksum(data) if self._checksums and data else 0)
        if len(data) > _COALESCE_LIMIT:
            self._writer.write(head)
            self._writer.write(data)
        else:
            self._writer.write(head + bytes(data))
        try:
            await self._writer.drain()
        except ConnectionError as exc:
            raise StreamClosed from exc

    async def go_online(self) -> None:
        """Answer the host's CNXN with ours: the device is now 'device' in `adb devices`."""
        if self.online or self._writer.is_closing():
            return
        self.online = True
        await self.send(A_CNXN, VERSION, MAX_PAYLOAD, self.endpoint.banner())

    def abort(self) -> None:
        """Drop the TCP connection without a goodbye, like a pulled cable."""
        self._writer.transport.abort()

    def forget(self, stream: Stream) -> None:
        self._streams.pop(stream.local_id, None)

    async def _handle(self, packet: Packet) -> None:
        if packet.command == A_CNXN:
            await self._on_connect(packet)
        elif packet.command == A_AUTH:
            await self._on_auth(packet)
        elif not self.online:
            return
        elif packet.command == A_OPEN:
            await self._on_open(packet)
        elif packet.command == A_OKAY:
            stream = self._streams.get(packet.arg1)
            if stream is not None:
                if stream.remote_id == 0:
                    stream.remote_id = packet.arg0
                stream.on_okay()
        elif packet.command == A_WRTE:
            stream = self._streams.get(packet.arg1)
            if stream is None:
                await self.send(A_CLSE, 0, packet.arg0)
            else:
                stream.on_write(packet.data)
        elif packet.command == A_CLSE:
            stream = self._streams.pop(packet.arg1, None)
            if stream is not None:
                stream.on_remote_close()

    async def _on_connect(self, packet: Packet) -> None:
        self._checksums = packet.arg0 < VERSION_SKIP_CHECKSUM
        self.max_payload = max(256, min(MAX_PAYLOAD, packet.arg1))
        self.host_banner = packet.data.rstrip(b"\0").decode("utf-8", "replace")
        if self.online:
            self.online = False
            self._close_all_streams()
        if self.endpoint.is_authorized():
            await self.go_online()
        else:
            await self.send(A_AUTH, AUTH_TOKEN, 0, os.urandom(20))

    async def _on_auth(self, packet: Packet) -> None:
        if self.online:
            return
        if packet.arg0 == AUTH_SIGNATURE:
            if self.endpoint.is_authorized():
                await self.go_online()
            else:
                await self.send(A_AUTH, AUTH_TOKEN, 0, os.urandom(20))
        elif packet.arg0 == AUTH_RSAPUBLICKEY:
            self.endpoint.auth_pending(self)

    async def _on_open(self, packet: Packet) -> None:
        name = packet.data.rstrip(b"\0").decode("utf-8", "replace")
        handler = self.endpoint.open_service(name, self)
        if handler is None:
            log.debug("sim.adb.refused service=%s", name)
            await self.send(A_CLSE, 0, packet.arg0)
            return
        stream = Stream(self, self._next_id, packet.arg0)
        self._next_id += 1
        self._streams[stream.local_id] = stream
        await self.send(A_OKAY, stream.local_id, stream.remote_id)
        task = asyncio.create_task(self._serve(handler, stream, name))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, handler: ServiceHandler, stream: Stream, name: str) -> None:
        try:
            await handler(stream)
        except StreamClosed:
            pass
        except Exception:
            log.exception("sim.adb.service_failed service=%s", name)
        finally:
            with contextlib.suppress(StreamClosed):
                await stream.close()

    def _close_all_streams(self) -> None:
        for stream in list(self._streams.values()):
            stream.on_remote_close()
        self._streams.clear()

    def _teardown(self) -> None:
        self.online = False
        self._close_all_streams()
        self.endpoint.transport_closed(self)
        if not self._writer.is_closing():
            self._writer.close()
