"""One adb stream (OPEN ... CLSE) with adb's flow control.

Outbound: at most one unacknowledged WRTE; each write waits for the peer's OKAY.
Inbound: a WRTE is acknowledged only when the service has taken its data, so a
fast sender cannot make us buffer without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import TYPE_CHECKING

from .protocol import A_CLSE, A_OKAY, A_WRTE

if TYPE_CHECKING:
    from .transport import AdbTransport

_ACK_WAIT_ON_CLOSE = 5.0


class StreamClosed(Exception):
    """The peer closed the stream or the connection went away."""


class Stream:
    def __init__(self, transport: AdbTransport, local_id: int, remote_id: int) -> None:
        self.transport = transport
        self.local_id = local_id
        self.remote_id = remote_id
        self._can_write = asyncio.Event()
        self._can_write.set()
        self._inbound: deque[bytes] = deque()
        self._inbound_event = asyncio.Event()
        self._buffer = bytearray()
        self.remote_closed = False
        self.closed = False

    # --- called by the transport -------------------------------------------------
    def on_okay(self) -> None:
        self._can_write.set()

    def on_write(self, data: bytes) -> None:
        self._inbound.append(data)
        self._inbound_event.set()

    def on_remote_close(self) -> None:
        self.remote_closed = True
        self.closed = True
        self._inbound_event.set()
        self._can_write.set()

    # --- used by services ------------------------------------------------------------
    async def write(self, data: bytes | bytearray | memoryview) -> None:
        """Send data as WRTE packets of at most the negotiated payload size."""
        view = memoryview(data)
        step = self.transport.max_payload
        for start in range(0, len(view), step):
            await self._can_write.wait()
            if self.closed:
                raise StreamClosed
            self._can_write.clear()
            await self.transport.send(A_WRTE, self.local_id, self.remote_id, view[start:start + step])

    async def _pull(self) -> bytes:
        while not self._inbound:
            if self.remote_closed:
                return b""
            self._inbound_event.clear()
            await self._inbound_event.wait()
        chunk = self._inbound.popleft()
        if not self.closed:
            await self.transport.send(A_OKAY, self.local_id, self.remote_id)
        return chunk

    async def read(self) -> bytes:
        """Next chunk the peer wrote; b"" once the peer closed the stream."""
        if self._buffer:
            chunk = bytes(self._buffer)
            self._buffer.clear()
            return chunk
        return await self._pull()

    async def read_exactly(self, size: int) -> bytes:
        """Exactly size bytes; raises StreamClosed when the peer closes first."""
        while len(self._buffer) < size:
            chunk = await self._pull()
            if not chunk:
                raise StreamClosed
            self._buffer += chunk
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out

    async def close(self) -> None:
        """CLSE once the last WRTE was acknowledged (or the peer went away)."""
        if self.closed:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._can_write.wait(), _ACK_WAIT_ON_CLOSE)
        if self.closed:
            return
        self.closed = True
        await self.transport.send(A_CLSE, self.local_id, self.remote_id)
        self.transport.forget(self)
