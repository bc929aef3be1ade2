"""A division with reps, a manager and an enrolled phone, and builders of device records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session

from crm.customers import Contact, ContactPhone, Customer
from crm.devices import Device
from crm.org import Division, Role, User
from crm.types import utcnow
from server.auth.service import issue_device_token
from tests.factories import Factory


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
