"""The fieldcrm server as the agent sees it: HTTP only (httpx), with retries and exponential backoff.

Connection failures, timeouts, 429 and 5xx are retried; other 4xx answers are final and
raise :class:`ServerError` with the server's ``detail``.
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx

from device_agent.errors import NotEnrolled, ServerError

RETRY_STATUSES = {408, 425, 429, 500, 502, 503, 504}
#: Several whole recordings in one request (servers before it answer 404: the agent sends them one by one).
RECORDING_BATCHES_PATH = "/api/v1/ingest/recording-batches"


@dataclass(frozen=True)
class Backoff:
    attempts: int = 8
    first_s: float = 0.5
    max_s: float = 30.0

    def delays(self) -> list[float]:
        """Waits before attempts 2..n: first_s, 2·first_s, 4·first_s, … capped at max_s."""
        return [min(self.max_s, self.first_s * 2**i) for i in range(self.attempts - 1)]


@cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default certificate checks, loaded once per process: reading the CA bundle costs
    about 30 ms of CPU, and every sync (20 phones at once: 20) opens a client of its own."""
    return httpx.create_ssl_context()


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict):
        detail = body.get("detail", body)
        field = body.get("field")
        return f"{detail} (field {field})" if field else str(detail)
    return str(body)[:200]


class _BatchBody:
    """An iterable body that can be sent again: each iteration reads the files afresh, each up to its
    declared size (a file found shorter raises :class:`OSError`)."""

    PIECE_BYTES = 1024 * 1024

    def __init__(self, manifest: bytes, files: list[tuple[Path, int]]) -> None:
        self.manifest = manifest
        self.files = files

    def __iter__(self) -> Iterator[bytes]:
        yield self.manifest
        for path, size in self.files:
            with open(path, "rb") as source:
                left = size
                while left and (piece := source.read(min(self.PIECE_BYTES, left))):
                    left -= len(piece)
                    yield piece
            if left:
                raise OSError(f"{path} is shorter than its declared {size} bytes")


class ServerApi:
    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 60.0,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.backoff = backoff or Backoff()
        self._sleep = sleep
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout_s, verify=_tls_context())

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ServerApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        content: bytes | Iterable[bytes] | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        ok: tuple[int, ...] = (200, 201, 204),
    ) -> httpx.Response:
        """One API call, retried on transient failures; returns the response when its status is in ``ok``."""
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        delays = self.backoff.delays()
        for attempt in range(len(delays) + 1):
            try:
                response = self._http.request(
                    method, path, json=json, content=content, headers=all_headers, params=params
                )
            except httpx.TransportError as exc:
                error = ServerError(f"{self.base_url} unreachable: {exc or type(exc).__name__}", retryable=True)
            else:
                if response.status_code in ok:
                    return response
                error = ServerError(
                    f"{method} {path}: {response.status_code} {_detail(response)}",
                    status=response.status_code,
                    retryable=response.status_code in RETRY_STATUSES,
                )
                if response.status_code == 401 and token and token.startswith("fcd_"):
                    raise NotEnrolled(f"the server refused this phone's token ({_detail(response)}); re-provision it")
            if not error.retryable or attempt == len(delays):
                raise error
            self._sleep(delays[attempt])
        raise AssertionError("unreachable")

    def answer(self, method: str, path: str, *, expect: type[dict] | type[list] = dict, **options: Any) -> Any:
        """The JSON body of a successful call. An answer that is not the API's JSON (a captive portal's
        page, another web server at ``server_url``) raises a retryable :class:`ServerError`, so the
        outbox keeps what was being sent, instead of a decoding error."""
        response = self.request(method, path, **options)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, expect):
            kind = response.headers.get("content-type") or "no content type"
            raise ServerError(
                f"{method} {path}: the answer is not fieldcrm's ({response.status_code}, {kind}); "
                f"is {self.base_url} the fieldcrm server?",
                status=response.status_code,
                retryable=True,
            )
        return body

    # --- admin side (enrolment) -------------------------------------------------------------
    def enrol(self, identity: dict[str, Any], *, admin_token: str | None, code: str | None) -> dict[str, Any]:
        body = dict(identity)
        if code:
            body["code"] = code
        return self.answer("POST", "/api/v1/devices/enrol", token=None if code else admin_token, json=body)

    def user_id(self, username: str, admin_token: str) -> int:
        """The id of a user by username (the admin must be able to see that user)."""
        after = 0
        while True:
            page = self.answer(
                "GET", "/api/v1/users", expect=list, token=admin_token, params={"limit": 1000, "after_id": after}
            )
            for user in page:
                if user["username"] == username:
                    return int(user["id"])
            if len(page) < 1000:
                raise ServerError(f"no user {username!r} visible to this admin", status=404)
            after = page[-1]["id"]

    def revoke(self, device_id: int, admin_token: str) -> dict[str, Any]:
        return self.answer("POST", f"/api/v1/devices/{device_id}/revoke", token=admin_token)

    # --- device side ------------------------------------------------------------------------
    def me(self, token: str) -> dict[str, Any]:
        return self.answer("GET", "/api/v1/devices/me", token=token)

    def ingest(self, token: str, path: str, records: list[str]) -> dict[str, Any]:
        """Records given as JSON texts (as the outbox holds them) go into the envelope without re-encoding."""
        body = '{"records":[' + ",".join(records) + "]}"
        return self.answer("POST", path, token=token, content=body.encode(),
                           headers={"Content-Type": "application/json"})

    def device_status(self, token: str, report: dict[str, Any]) -> dict[str, Any]:
        return self.answer("POST", "/api/v1/ingest/device-status", token=token, json=report)

    def declare_recording(self, token: str, meta: dict[str, Any]) -> dict[str, Any]:
        return self.answer("POST", "/api/v1/ingest/recording-uploads", token=token, json=meta)

    def send_recordings(self, token: str, files: list[tuple[dict[str, Any], Path]]) -> dict[str, Any]:
        """Whole files (declaration, staged copy) in one request: a manifest line, then each file's bytes,
        read from disk as they are sent (again on a retry)."""
        declarations = [declaration for declaration, _ in files]
        manifest = json.dumps({"recordings": declarations}, separators=(",", ":")).encode() + b"\n"
        sizes = [(path, int(declaration["size_bytes"])) for declaration, path in files]
        return self.answer(
            "POST",
            RECORDING_BATCHES_PATH,
            token=token,
            content=_BatchBody(manifest, sizes),
            headers={
                "Content-Type": "application/octet-stream",
                "Content-Length": str(len(manifest) + sum(size for _, size in sizes)),
            },
        )

    def upload_state(self, token: str, upload_id: int) -> dict[str, Any]:
        return self.answer("GET", f"/api/v1/ingest/recordings/{upload_id}", token=token)

    def put_chunk(self, token: str, upload_id: int, offset: int, data: bytes) -> dict[str, Any]:
        return self.answer(
            "PUT",
            f"/api/v1/ingest/recordings/{upload_id}",
            token=token,
            content=data,
            headers={"Upload-Offset": str(offset), "Content-Type": "application/octet-stream"},
        )

    def positions(self, admin_token: str) -> list[dict[str, Any]]:
        """The newest position of each rep the admin may see: the live map's GeoJSON feature properties."""
        body = self.answer("GET", "/api/v1/locations/live", token=admin_token)
        return [feature.get("properties", {}) for feature in body.get("features", [])]
