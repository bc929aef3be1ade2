"""ASGI middleware: request-body limit and one structured log line per request, in one layer."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.logs import get_logger, log_event

logger = get_logger("http")


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` so that a route reading the body answers 413 through the normal handlers."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body too large (limit {limit} bytes)")


async def _send_json(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> bytes | None:
    return next((value for name, value in scope["headers"] if name == b"content-length"), None)


class RequestMiddleware:
    """One pure-ASGI layer around every HTTP request: refuses bodies over the limit (413) before
    a route reads them, and logs one structured line per request.

    Upload paths have their own limits (``prefix_limits``: path prefix → bytes; the longest
    matching prefix wins).
    """

    def __init__(self, app: ASGIApp, *, default_limit: int, prefix_limits: Mapping[str, int]):
        self.app = app
        self.default_limit = default_limit
        self.prefix_limits = sorted(prefix_limits.items(), key=lambda item: -len(item[0]))

    def limit_for(self, path: str) -> int:
        return next(
            (limit for prefix, limit in self.prefix_limits if path.startswith(prefix)), self.default_limit
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status: int | None = None

        async def tracking_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._limited(scope, receive, tracking_send, started=lambda: status is not None)
        finally:
            if logger.isEnabledFor(logging.INFO):
                log_event(
                    logger,
                    "http.request",
                    method=scope.get("method"),
                    path=scope.get("path"),
                    status=status or 500,
                    ms=round((time.perf_counter() - start) * 1000, 1),
                )

    async def _limited(self, scope: Scope, receive: Receive, send: Send, started: Callable[[], bool]) -> None:
        limit = self.limit_for(scope.get("path", ""))
        declared = _content_length(scope)
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                await _send_json(send, 400, "invalid Content-Length header")
                return
            if too_big:
                await _send_json(send, 413, f"request body too large (limit {limit} bytes)")
                return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        try:
            await self.app(scope, limited_receive, send)
        except BodyTooLarge as exc:
            if not started():
                await _send_json(send, 413, exc.detail)
