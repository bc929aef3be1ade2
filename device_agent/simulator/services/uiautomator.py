"""`tcp:9008`: the uiautomator2 server's HTTP side (GET /ping, POST /jsonrpc/0)."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..adb.stream import Stream, StreamClosed
from ..ui.nodes import HEIGHT, WIDTH, SelectorError, to_xml

if TYPE_CHECKING:
    from ..core import PhoneCore

_MAX_BODY = 1 << 20
_NOT_FOUND = -32002


class RpcError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _not_found(selector: object) -> RpcError:
    return RpcError(_NOT_FOUND, f"androidx.test.uiautomator.UiObjectNotFoundException: {json.dumps(selector)}")


def _one(core: PhoneCore, selector: Any) -> Any:
    nodes = core.ui.find(selector)
    if not nodes:
        raise _not_found(selector)
    return nodes[0]


def _wait(core: PhoneCore, selector: Any, timeout_ms: Any, present: bool) -> bool:
    deadline = time.monotonic() + min(float(timeout_ms or 0), 60_000) / 1000
    while True:
        if bool(core.ui.find(selector)) == present:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def _device_info(core: PhoneCore, *_: Any) -> dict[str, Any]:
    ident = core.state.identity
    return {"currentPackageName": core.ui.current_package(), "displayHeight": HEIGHT, "displayWidth": WIDTH,
            "displayRotation": 0, "displaySizeDpX": 393, "displaySizeDpY": 873, "productName": ident.product,
            "naturalOrientation": True, "screenOn": True, "sdkInt": ident.sdk}


def _click(core: PhoneCore, *params: Any) -> bool:
    if params and isinstance(params[0], dict):
        node = _one(core, params[0])
        left, top, right, bottom = node.bounds
        return core.ui.click((left + right) / 2, (top + bottom) / 2)
    return core.ui.click(float(params[0]), float(params[1]))


def _set_text(core: PhoneCore, selector: Any, text: Any = "") -> bool:
    with core.lock:
        return core.ui.set_text(_one(core, selector), str(text or ""))


def _press(core: PhoneCore, key: Any, *_: Any) -> bool:
    with core.lock:
        if str(key).lower() in ("back", "4"):
            core.ui.back()
        elif str(key).lower() in ("home", "3"):
            core.ui.home()
    return True


METHODS: dict[str, Callable[..., Any]] = {
    "deviceInfo": _device_info,
    "dumpWindowHierarchy": lambda core, *p: to_xml(core.ui.root()),
    "exist": lambda core, selector, *p: bool(core.ui.find(selector)),
    "waitForExists": lambda core, selector, timeout=0, *p: _wait(core, selector, timeout, True),
    "waitUntilGone": lambda core, selector, timeout=0, *p: _wait(core, selector, timeout, False),
    "objInfo": lambda core, selector, *p: _one(core, selector).info(),
    "objInfoOfAllInstances": lambda core, selector, *p: [n.info() for n in core.ui.find(selector)],
    "count": lambda core, selector, *p: len(core.ui.find(selector)),
    "getText": lambda core, selector, *p: _one(core, selector).text,
    "click": _click,
    "setText": _set_text,
    "clearTextField": lambda core, selector, *p: _set_text(core, selector, ""),
    "takeScreenshot": lambda core, *p: base64.b64encode(core.ui.screenshot_png()).decode(),
    "pressKey": _press,
    "wakeUp": lambda core, *p: True,
}


def call(core: PhoneCore, body: bytes) -> dict[str, Any]:
    """One JSON-RPC request -> response object."""
    try:
        request = json.loads(body)
        method, params, rid = request["method"], request.get("params") or [], request.get("id", 1)
    except (ValueError, KeyError, TypeError):
        return {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}}
    fn = METHODS.get(method)
    if fn is None:
        return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": f"Method not found: {method}"}}
    args = list(params.values()) if isinstance(params, dict) else list(params)
    try:
        return {"jsonrpc": "2.0", "id": rid, "result": fn(core, *args)}
    except RpcError as exc:
        return {"jsonrpc": "2.0", "id": rid, "error": {"code": exc.code, "message": exc.message}}
    except (SelectorError, TypeError, ValueError, IndexError) as exc:
        return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32602, "message": f"Invalid params: {exc}"}}


async def _read_request(stream: Stream) -> tuple[str, str, bytes] | None:
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        chunk = await stream.read()
        if not chunk:
            return None
        buffer += chunk
        if len(buffer) > 65536:
            return None
    head, _, body = buffer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) < 2:
        return None
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0") or 0)
    if length > _MAX_BODY:
        return None
    while len(body) < length:
        chunk = await stream.read()
        if not chunk:
            return None
        body += chunk
    return parts[0], parts[1], body[:length]


def _response(status: str, body: bytes, content_type: str) -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n").encode() + body


async def serve_uiautomator(core: PhoneCore, stream: Stream) -> None:
    try:
        request = await _read_request(stream)
    except StreamClosed:
        return
    if request is None:
        await stream.write(_response("400 Bad Request", b"bad request", "text/plain"))
        return
    method, path, body = request
    if method == "GET" and path == "/ping":
        await stream.write(_response("200 OK", b"pong", "text/plain"))
    elif method == "POST" and path.startswith("/jsonrpc/0"):
        answer = await asyncio.to_thread(call, core, body)
        await stream.write(_response("200 OK", json.dumps(answer, ensure_ascii=False).encode(), "application/json"))
    else:
        await stream.write(_response("404 Not Found", b"not found", "text/plain"))
