from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from crm.audit import AuditLog
from crm.org import Role
from tests.factories import Factory


def _create(client, headers, **body):
    payload = {"username": "new.user", "password": "long-enough-1", "role": "rep"} | body
    return client.post("/api/v1/users", json=payload, headers=headers)


def test_division_head_creates_reps_in_own_division_only(client: TestClient, factory: Factory):
    head = factory.user(Role.division_head)
    other = factory.division()
    headers = factory.headers(head)
    assert _create(client, headers, division_id=head.division_id).status_code == 201
    response = _create(client, headers, username="x2", division_id=other.id)
    assert response.status_code == 403 and response.json()["field"] == "division_id"


@pytest.mark.parametrize(
    ("actor_role", "granted", "allowed"),
    [
        (Role.division_head, Role.executive, False),
        (Role.division_head, Role.sysadmin, False),
        (Role.division_admin, Role.division_head, False),
        (Role.rep, Role.rep, False),
        (Role.sysadmin, Role.executive, True),
        (Role.executive, Role.division_head, True),
    ],
)
def test_roles_grant_only_what_they_may(client, factory: Factory, actor_role, granted, allowed):
    division = factory.division()
    actor = factory.user(actor_role, division)
    body = {"role": granted.value}
    body["division_id"] = None if granted in (Role.executive, Role.sysadmin) else division.id
    response = _create(client, factory.headers(actor), **body)
    assert (response.status_code == 201) is allowed, response.json()


def test_permission_change_is_audited(client: TestClient, factory: Factory, session: Session):
    head = factory.user(Role.division_head)
    division_id = head.division_id
    rep = _create(client, factory.headers(head), division_id=division_id).json()
    response = client.patch(
        f"/api/v1/users/{rep['id']}", json={"role": "division_admin"}, headers=factory.headers(head)
    )
    assert response.status_code == 200 and response.json()["role"] == "division_admin"
    entry = session.exec(select(AuditLog).where(AuditLog.action == "user.permission_change")).one()
    assert entry.actor_user_id == head.id
    assert entry.detail["before"]["role"] == "rep" and entry.detail["after"]["role"] == "division_admin"


def test_cannot_change_own_role_or_users_of_other_divisions(client: TestClient, factory: Factory):
    head = factory.user(Role.division_head)
    stranger = factory.user(Role.rep)
    headers = factory.headers(head)
    assert client.patch(f"/api/v1/users/{head.id}", json={"role": "rep"}, headers=headers).status_code == 403
    assert (
        client.patch(f"/api/v1/users/{stranger.id}", json={"is_active": False}, headers=headers).status_code
        == 404
    )


def test_duplicate_username_is_409(client: TestClient, factory: Factory):
    admin = factory.user(Role.sysadmin)
    division = factory.division()
    headers = factory.headers(admin)
    assert _create(client, headers, division_id=division.id).status_code == 201
    response = _create(client, headers, division_id=division.id)
    assert response.status_code == 409 and response.json()["field"] == "username"


def test_only_executives_and_sysadmins_create_divisions(client: TestClient, factory: Factory):
    head = factory.user(Role.division_head)
    body = {"name": "华北销售部", "code": "NORTH"}
    assert client.post("/api/v1/divisions", json=body, headers=factory.headers(head)).status_code == 403
    admin = factory.user(Role.sysadmin)
    response = client.post("/api/v1/divisions", json=body, headers=factory.headers(admin))
    assert response.status_code == 201 and response.json()["name"] == "华北销售部"
