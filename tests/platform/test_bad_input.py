"""Malformed JSON, wrong types, unknown fields, oversized bodies: 4xx with a message, never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from crm.org import Role
from tests.factories import Factory


@pytest.fixture
def admin_headers(factory: Factory) -> dict[str, str]:
    return factory.headers(factory.user(Role.sysadmin))


@pytest.mark.parametrize(
    "raw",
    [b"{", b"not json", b'{"name": "x", "code": }', b"\xff\xfe\x00", b"[]", b"null", b'"text"'],
)
def test_malformed_json_is_422_with_message(client: TestClient, admin_headers, raw: bytes):
    headers = admin_headers | {"Content-Type": "application/json"}
    response = client.post("/api/v1/divisions", content=raw, headers=headers)
    assert response.status_code in (400, 422)  # 400 when the bytes are not even text
    assert response.json()["detail"]


def test_wrong_types_name_the_field(client: TestClient, admin_headers):
    response = client.post("/api/v1/divisions", json={"name": ["x"], "code": "OK"}, headers=admin_headers)
    assert response.status_code == 422
    assert response.json()["field"] == "name"


def test_unknown_fields_are_refused(client: TestClient, admin_headers):
    response = client.post(
        "/api/v1/divisions", json={"name": "x", "code": "X1", "is_admin": True}, headers=admin_headers
    )
    assert response.status_code == 422
    assert response.json()["field"] == "is_admin"


def test_bad_pattern_and_enum(client: TestClient, admin_headers):
    assert (
        client.post("/api/v1/divisions", json={"name": "x", "code": "有 空格"}, headers=admin_headers).json()[
            "field"
        ]
        == "code"
    )
    response = client.post(
        "/api/v1/users",
        json={"username": "u1", "password": "long-enough-1", "role": "god"},
        headers=admin_headers,
    )
    assert response.status_code == 422 and response.json()["field"] == "role"


def test_oversized_body_is_413(client: TestClient, admin_headers, settings):
    big = b'{"name": "' + b"x" * (settings.max_body_bytes + 10) + b'", "code": "X"}'
    response = client.post(
        "/api/v1/divisions", content=big, headers=admin_headers | {"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert "too large" in response.json()["detail"]


def test_oversized_chunked_body_is_413(client: TestClient, admin_headers, settings):
    def chunks():
        yield b'{"name": "'
        for _ in range(settings.max_body_bytes // 65536 + 2):
            yield b"x" * 65536
        yield b'", "code": "X"}'

    response = client.post(
        "/api/v1/divisions", content=chunks(), headers=admin_headers | {"Content-Type": "application/json"}
    )
    assert response.status_code == 413


def test_invalid_content_length_is_400(client: TestClient, admin_headers):
    response = client.post(
        "/api/v1/divisions",
        content=b"{}",
        headers=admin_headers | {"Content-Type": "application/json", "Content-Length": "abc"},
    )
    assert response.status_code == 400


def test_unknown_route_and_bad_path_params_are_json(client: TestClient, admin_headers):
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["detail"]
    bad = client.patch("/api/v1/users/not-a-number", json={}, headers=admin_headers)
    assert bad.status_code == 422 and bad.json()["field"] == "user_id"


def test_query_limits_are_validated(client: TestClient, admin_headers):
    response = client.get("/api/v1/users?limit=1000000", headers=admin_headers)
    assert response.status_code == 422 and response.json()["field"] == "limit"


def test_values_the_database_refuses_are_422_with_their_code(client: TestClient, factory: Factory, database_url):
    executive = factory.headers(factory.user(Role.executive))
    huge = client.get("/api/v1/customers/18446744073709551616", headers=executive)
    assert huge.status_code == 422 and huge.json()["code"] == "request.out_of_range"
    late = client.get("/api/v1/checkins", params={"until": "9999-12-31T23:59:59-12:00"}, headers=executive)
    assert late.status_code == 422 and late.json()["code"] == "request.out_of_range"
    nul = client.post("/api/v1/auth/login", json={"username": "a\x00b", "password": "x" * 12})
    if database_url.startswith("postgresql"):  # SQLite stores NUL; PostgreSQL text cannot hold it
        assert nul.status_code == 422 and nul.json()["code"] == "request.nul_character"
    else:
        assert nul.status_code == 401


def test_a_time_without_its_zone_is_refused_in_filters_and_bodies(client: TestClient, factory: Factory):
    head = factory.headers(factory.user(Role.division_head))
    listed = client.get("/api/v1/tickets", params={"overdue_at": "2024-05-01T10:00:00"}, headers=head)
    assert listed.status_code == 422 and listed.json()["field"] == "overdue_at"
    assert "zone" in listed.json()["detail"]
    planned = client.post("/api/v1/activities", json={"kind": "visit", "subject": "拜访", "due_at": "2024-05-01T10:00:00"}, headers=head)
    assert planned.status_code == 422 and planned.json()["field"] == "due_at"
    zoned = client.get("/api/v1/tickets", params={"overdue_at": "2024-05-01T10:00:00+08:00"}, headers=head)
    assert zoned.status_code == 200


def test_an_executive_naming_a_division_that_does_not_exist_gets_404(client: TestClient, factory: Factory):
    executive = factory.headers(factory.user(Role.executive))
    script = {"division_id": 999_999, "title": "开场白", "category": "电话", "body": "您好"}
    response = client.post("/api/v1/scripts", json=script, headers=executive)
    assert response.status_code == 404 and response.json()["code"] == "division.not_found"
    stages = client.get("/api/v1/pipeline/stages", params={"division_id": -1}, headers=executive)
    assert stages.status_code == 404  # and no pipeline was made up for it


def test_health_reports_database(client: TestClient):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok", "database": True}


def test_openapi_is_served(client: TestClient):
    assert client.get("/docs").status_code == 200
    assert "/api/v1/auth/login" in client.get("/openapi.json").json()["paths"]
