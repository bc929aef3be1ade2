"""Every API route and every page, as each kind of caller, with hostile path ids, query values and
bodies: a 4xx with a message or a success, never a 500.

The requests are built from the routes themselves (the OpenAPI schema for the API, the routes'
parameters for the pages), so a new route is covered the day it is added. Each route gets fresh
callers: a request earlier in the sweep may log a caller out, freeze them or revoke their phone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlmodel import Session

from crm.devices import Device
from crm.org import Role
from crm.types import utcnow
from server.auth.service import issue_device_token
from tests.factories import Factory

#: Path ids: past 64 bits either way, not a number, NUL, an emoji.
HOSTILE_IDS = ("0", "-1", "18446744073709551616", "-9223372036854775809", "abc", "%00", "1e400", "%F0%9F%98%80")
#: Query values (already URL-encoded): empty, NUL, past 64 bits, long, invalid UTF-8, not-a-number, times
#: without a zone or at the ends of the calendar once moved to UTC, a date where a time is expected.
HOSTILE_QUERY = (
    "",
    "%00",
    "18446744073709551616",
    "-1",
    "x" * 5000,
    "%ED%A0%80",
    "%FF",
    "nan",
    "2024-13-45",
    "2024-05-01T10:00:00",
    "0001-01-01T00:00:00%2B14:00",
    "9999-12-31T23:59:59-12:00",
    "9999-12-31",
)
#: Malformed bodies.
HOSTILE_RAW_BODIES = (b"{", b"null", b"[]", b'{"a":' * 5000, b"\xff\xfe", b'"x"')
#: Well-formed bodies built from each route's schema, one set of values per kind of JSON value.
BODY_VALUES = (
    {"string": "\x00", "integer": 1, "number": 1.0, "boolean": True},
    {"string": "\ud800x", "integer": 18446744073709551616, "number": 1e308, "boolean": True},
    {"string": "x" * 200_000, "integer": -9223372036854775809, "number": -1e308, "boolean": False},
    {"string": "2024-05-01T10:00:00", "integer": 1, "number": 1.0, "boolean": True},
    {"string": "0001-01-01T00:00:00+14:00", "integer": 0, "number": 0.0, "boolean": True},
    {"string": "9999-12-31T23:59:59-12:00", "integer": 2**63 - 1, "number": float("inf"), "boolean": True},
)
CALLERS = (Role.executive, Role.division_head, Role.rep, Role.sysadmin)


def _schema(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schemas = spec["components"]["schemas"]
        schema = schemas.get(name) or schemas.get(f"{name}-Input", {})
    return schema


def body_from(spec: dict[str, Any], schema: dict[str, Any], values: dict[str, Any], depth: int = 0) -> Any:
    """A body of the schema's shape with ``values`` for its strings, integers, numbers and booleans."""
    schema = _schema(spec, schema)
    if depth > 5:
        return None
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [_schema(spec, s) for s in schema[key]]
            options = [s for s in options if s.get("type") != "null"]
            return body_from(spec, options[0], values, depth + 1) if options else None
    if schema.get("type") == "object" or "properties" in schema:
        return {k: body_from(spec, v, values, depth + 1) for k, v in schema.get("properties", {}).items()}
    if schema.get("type") == "array":
        return [body_from(spec, schema.get("items", {}), values, depth + 1)]
    if "enum" in schema:
        return schema["enum"][0]
    return values.get(schema.get("type", ""))


def _with(path: str, names: list[str], hostile: str | None = None, at: str | None = None) -> str:
    for name in names:
        path = path.replace("{" + name + "}", hostile if name == at and hostile is not None else "1")
    return path


Request = tuple[str, str, str, bytes | None]
"""The route's path template, the method, the URL, the JSON body or None."""


def api_requests(spec: dict[str, Any]) -> Iterator[Request]:
    """Requests for every operation of the OpenAPI schema."""
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            params = operation.get("parameters", [])
            in_path = [p["name"] for p in params if p["in"] == "path"]
            base = _with(path, in_path)
            for name in in_path:
                for hostile in HOSTILE_IDS:
                    yield path, method, _with(path, in_path, hostile, name), None
            for param in (p for p in params if p["in"] == "query"):
                for hostile in HOSTILE_QUERY:
                    yield path, method, f"{base}?{param['name']}={hostile}", None
            content = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if content is None and method not in ("post", "put", "patch"):
                continue
            for raw in HOSTILE_RAW_BODIES:
                yield path, method, base, raw
            for values in BODY_VALUES if content else ():
                yield path, method, base, json.dumps(body_from(spec, content["schema"], values)).encode()


def _params(dependant: Any, kind: str) -> list[Any]:
    return [*getattr(dependant, kind), *(p for d in dependant.dependencies for p in _params(d, kind))]


def page_requests(app: FastAPI) -> Iterator[Request]:
    """GET requests with hostile path ids and query values for every page (routes outside the schema)."""
    for route in app.routes:
        if not isinstance(route, APIRoute) or route.include_in_schema or "GET" not in route.methods:
            continue
        in_path = [p.name for p in _params(route.dependant, "path_params")]
        base = _with(route.path, in_path)
        for name in in_path:
            for hostile in HOSTILE_IDS:
                yield route.path, "get", _with(route.path, in_path, hostile, name), None
        for param in _params(route.dependant, "query_params"):
            for hostile in HOSTILE_QUERY:
                yield route.path, "get", f"{base}?{param.alias}={hostile}", None


@pytest.fixture
def callers(factory: Factory, session: Session) -> Any:
    def fresh() -> list[dict[str, str]]:
        division = factory.division()
        users = {role: factory.user(role, division) for role in CALLERS}
        device = Device(serial=f"SWEEP-{division.id}", division_id=division.id, rep_user_id=users[Role.rep].id)
        session.add(device)
        session.flush()
        secret = issue_device_token(session, device=device, now=utcnow())
        session.commit()
        return [factory.headers(user) for user in users.values()] + [{"Authorization": f"Bearer {secret}"}]

    return fresh


def test_no_hostile_request_gets_a_500(app: FastAPI, callers: Any) -> None:
    client = TestClient(app, base_url="http://testserver", raise_server_exceptions=False)
    requests = [*api_requests(app.openapi()), *page_requests(app)]
    failures: list[str] = []
    statuses: set[int] = set()
    route = None
    for template, method, url, body in requests:
        if template != route:
            route, headers = template, callers()
        for caller in headers:
            sent = caller | {"Content-Type": "application/json"} if body is not None else caller
            response = client.request(method.upper(), url, headers=sent, content=body)
            statuses.add(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{response.status_code} {method.upper()} {url[:160]} {(body or b'')[:100]!r}")
    assert len(requests) > 2000 and {401, 403, 404, 422} <= statuses  # the sweep reached the routes
    assert not failures, "\n".join(sorted(set(failures)))
