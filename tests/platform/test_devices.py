from __future__ import annotations

import base64

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from crm.devices import Device, DeviceToken
from crm.org import Division, Role
from server.auth.secrets import digest
from tests.factories import Factory

PHONE = {"serial": "8XK1234", "brand": "Xiaomi", "model": "Redmi Note 12", "android_release": "13", "sdk": 33}


def test_admin_enrols_a_phone_and_the_token_is_hashed(client: TestClient, factory: Factory, session: Session):
    admin = factory.user(Role.division_admin)
    rep = factory.user(Role.rep, session.get(Division, admin.division_id))
    response = client.post(
        "/api/v1/devices/enrol", json=PHONE | {"rep_user_id": rep.id}, headers=factory.headers(admin)
    )
    assert response.status_code == 201, response.json()
    token = response.json()["token"]
    assert token.startswith("fcd_")
    stored = session.exec(select(DeviceToken)).one()
    assert stored.token_hash == digest(token)
    me = client.get("/api/v1/devices/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["serial"] == PHONE["serial"]
    basic = base64.b64encode(f"device:{token}".encode()).decode()
    assert client.get("/api/v1/devices/me", headers={"Authorization": f"Basic {basic}"}).status_code == 200


def test_user_tokens_are_not_device_tokens(client: TestClient, factory: Factory):
    admin = factory.user(Role.division_admin)
    response = client.get("/api/v1/devices/me", headers=factory.headers(admin))
    assert response.status_code == 401


def test_reenrolment_rotates_the_token(client: TestClient, factory: Factory):
    admin = factory.user(Role.division_admin)
    headers = factory.headers(admin)
    first = client.post("/api/v1/devices/enrol", json=PHONE, headers=headers).json()
    second = client.post("/api/v1/devices/enrol", json=PHONE, headers=headers).json()
    assert first["device"]["id"] == second["device"]["id"]
    old = client.get("/api/v1/devices/me", headers={"Authorization": f"Bearer {first['token']}"})
    new = client.get("/api/v1/devices/me", headers={"Authorization": f"Bearer {second['token']}"})
    assert old.status_code == 401 and new.status_code == 200


def test_enrolment_code_is_single_use(client: TestClient, factory: Factory):
    admin = factory.user(Role.division_admin)
    code = client.post(
        "/api/v1/enrolment-codes", json={"division_id": admin.division_id}, headers=factory.headers(admin)
    ).json()["code"]
    assert client.post("/api/v1/devices/enrol", json=PHONE | {"code": code}).status_code == 201
    again = client.post("/api/v1/devices/enrol", json=PHONE | {"code": code})
    assert again.status_code == 403 and again.json()["field"] == "code"


def test_enrolment_needs_credentials_and_the_right_division(client: TestClient, factory: Factory):
    assert client.post("/api/v1/devices/enrol", json=PHONE).status_code == 401
    rep = factory.user(Role.rep)
    assert client.post("/api/v1/devices/enrol", json=PHONE, headers=factory.headers(rep)).status_code == 403
    admin = factory.user(Role.division_admin)
    elsewhere = factory.division()
    response = client.post(
        "/api/v1/devices/enrol", json=PHONE | {"division_id": elsewhere.id}, headers=factory.headers(admin)
    )
    assert response.status_code == 403


def test_revoked_device_is_locked_out(client: TestClient, factory: Factory):
    admin = factory.user(Role.division_admin)
    headers = factory.headers(admin)
    enrolled = client.post("/api/v1/devices/enrol", json=PHONE, headers=headers).json()
    device_headers = {"Authorization": f"Bearer {enrolled['token']}"}
    assert client.get("/api/v1/devices/me", headers=device_headers).status_code == 200
    revoked = client.post(f"/api/v1/devices/{enrolled['device']['id']}/revoke", headers=headers)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert client.get("/api/v1/devices/me", headers=device_headers).status_code == 401
    assert client.get("/api/v1/devices", headers=headers).json() == []


def test_a_device_is_seen_when_it_authenticates(client: TestClient, factory: Factory, session: Session):
    admin = factory.user(Role.division_admin)
    enrolled = client.post("/api/v1/devices/enrol", json=PHONE, headers=factory.headers(admin)).json()
    me = client.get("/api/v1/devices/me", headers={"Authorization": f"Bearer {enrolled['token']}"})
    assert me.status_code == 200 and me.json()["last_seen_at"] is not None
    device = session.get(Device, enrolled["device"]["id"])
    token = session.exec(select(DeviceToken)).one()
    assert device.last_seen_at is not None and token.last_used_at == device.last_seen_at
