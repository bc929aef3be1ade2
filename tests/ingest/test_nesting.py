"""Deeply nested JSON is refused with a clear 4xx, never a 500 (the parsers recurse)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.ingest.conftest import World

DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/ingest/sms", b'{"records": ' + DEEP + b"}"),
        ("/api/v1/ingest/calls", b'{"records": [' + DEEP + b"]}"),
        ("/api/v1/ingest/contacts", b'{"records": ' + DEEP + b"}"),
        ("/api/v1/ingest/locations", b'{"records": ' + DEEP + b"}"),
        ("/api/v1/ingest/device-status", DEEP),
        ("/api/v1/ingest/recording-uploads", DEEP),
        ("/api/v1/ingest/recording-batches", DEEP[:100_000] + DEEP[-100_000:] + b"\n"),
    ],
)
def test_deeply_nested_json_is_refused(client: TestClient, world: World, path: str, body: bytes) -> None:
    answer = client.post(path, content=body, headers=world.device_headers | {"Content-Type": "application/json"})
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:300])
