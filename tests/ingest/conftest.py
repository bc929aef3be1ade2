"""A division with reps, a manager and an enrolled phone, and builders of device records."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from crm.customers import Contact, ContactPhone, Customer
from crm.devices import Device
from crm.org import Division, Role, User
from crm.types import utcnow
from server.auth.service import issue_device_token
from tests.factories import Factory

AUDIO = Path(__file__).parents[1] / "data" / "capture" / "audio"
MP3 = (AUDIO / "call_1500ms.mp3").read_bytes()


@dataclass
class World:
    division: Division
    rep: User
    other_rep: User
    head: User
    device: Device
    device_headers: dict[str, str]


@pytest.fixture
def world(factory: Factory, session: Session) -> World:
    division = factory.division()
    rep = factory.user(Role.rep, division)
    other_rep = factory.user(Role.rep, division)
    head = factory.user(Role.division_head, division)
    device = Device(serial="CAPTURE-1", division_id=division.id, rep_user_id=rep.id)
    session.add(device)
    session.flush()
    secret = issue_device_token(session, device=device, now=utcnow())
    session.commit()
    return World(division, rep, other_rep, head, device, {"Authorization": f"Bearer {secret}"})


def add_phone(
    session: Session,
    customer: Customer,
    e164: str,
    *,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
) -> ContactPhone:
    contact = Contact(customer_id=customer.id, division_id=customer.division_id, name="联系人")
    session.add(contact)
    session.flush()
    phone = ContactPhone(
        e164=e164,
        customer_id=customer.id,
        contact_id=contact.id,
        division_id=customer.division_id,
        valid_from=valid_from or utcnow(),
        valid_to=valid_to,
    )
    session.add(phone)
    session.commit()
    return phone


def ago(**kwargs: float) -> datetime:
    return (datetime.now(UTC) - timedelta(**kwargs)).replace(microsecond=0)


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def sms(
    source_id: int, address: str | None, body: str, at: datetime, type_code: int = 1, **extra: Any
) -> dict:
    return {
        "source_id": source_id,
        "address": address,
        "body": body,
        "occurred_at": iso(at),
        "type_code": type_code,
        **extra,
    }


def call(
    source_id: int, number: str | None, at: datetime, duration: int = 60, type_code: int = 1, **extra: Any
) -> dict:
    return {
        "source_id": source_id,
        "number": number,
        "occurred_at": iso(at),
        "duration": duration,
        "type_code": type_code,
        **extra,
    }


def declare(client: TestClient, headers: dict, content: bytes, **meta: object) -> dict:
    body = {
        "sha256": hashlib.sha256(content).hexdigest(),
        "size_bytes": len(content),
        "file_name": "通话录音@王经理(13812345678)_20240501143015.mp3",
    } | meta
    response = client.post("/api/v1/ingest/recording-uploads", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def put_bytes(client: TestClient, headers: dict, upload_id: int, offset: int, chunk: bytes):
    return client.put(
        f"/api/v1/ingest/recordings/{upload_id}",
        content=chunk,
        headers=headers | {"Upload-Offset": str(offset)},
    )


def upload(client: TestClient, headers: dict, content: bytes, **meta: object) -> dict:
    state = declare(client, headers, content, **meta)
    if state["status"] == "upload":
        state = put_bytes(
            client, headers, state["upload_id"], state["offset"], content[state["offset"] :]
        ).json()
    return state
