"""Reading a recording batch body: one manifest line, then files of declared sizes back to back.

The sizes in the manifest frame the files, so nothing is searched for in the audio bytes and a
file is never held in memory whole: :meth:`BatchBody.take` yields the pieces as they arrive.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import ClientDisconnect


class ManifestTooLong(Exception):
    """No newline within the manifest's size limit."""


class BodyEnded(Exception):
    """The body ended (or the client went away) before the manifest line was whole."""


class BatchBody:
    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks.__aiter__()
        self._buffer = b""
        self._ended = False
        self.taken = 0  # bytes handed out by take() (a reader that stops early can skip the rest)

    async def _more(self) -> bool:
        """Append the next chunk of the body; False at its end or when the client went away."""
        while not self._ended:
            try:
                chunk = await anext(self._chunks)
            except (StopAsyncIteration, ClientDisconnect):
                self._ended = True
                break
            if chunk:
                self._buffer += chunk
                return True
        return False

    async def line(self, limit: int) -> bytes:
        """The bytes before the first newline (which is consumed)."""
        while (end := self._buffer.find(b"\n")) < 0:
            if len(self._buffer) > limit:
                raise ManifestTooLong
            if not await self._more():
                raise BodyEnded
        if end > limit:
            raise ManifestTooLong
        line, self._buffer = self._buffer[:end], self._buffer[end + 1 :]
        return line

    async def take(self, size: int) -> AsyncIterator[bytes]:
        """The next ``size`` bytes in pieces; fewer when the body ends first."""
        left = size
        while left:
            if not self._buffer and not await self._more():
                return
            if len(self._buffer) <= left:
                piece, self._buffer = self._buffer, b""
            else:
                piece, self._buffer = self._buffer[:left], self._buffer[left:]
            left -= len(piece)
            self.taken += len(piece)
            yield piece

    async def skip(self, size: int) -> None:
        async for _piece in self.take(size):
            pass

    async def at_end(self) -> bool:
        """True when no byte is left."""
        return not self._buffer and not await self._more()
