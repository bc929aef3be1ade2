"""A division with a rep, a manager and the rep's enrolled phone; helpers for fixes and raw HTTP."""

from __future__ import annotations

import base64
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlmodel import Session

from crm.customers import Customer
from crm.devices import Device
from crm.geo import set_position
from crm.org import Division, Role, User
from crm.types import utcnow
from server.auth.service import issue_device_token
from server.config import Settings
from tests.factories import Factory

DATA = Path(__file__).resolve().parents[1] / "data" / "locations"
SHANGHAI = (31.230416, 121.473701)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Track around the clock unless a test says otherwise."""
    settings.tracking_hours = "always"
    settings.tracking_days = "1-7"
    return settings


@dataclass
class World:
    division: Division
    rep: User
    other_rep: User
    head: User
    device: Device
    token: str

    @property
    def device_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def enrol(session: Session, division: Division, rep: User | None, serial: str) -> tuple[Device, str]:
    device = Device(serial=serial, division_id=division.id, rep_user_id=rep.id if rep else None)
    session.add(device)
    session.flush()
    token = issue_device_token(session, device=device, now=utcnow())
    session.commit()
    return device, token


@pytest.fixture
def world(factory: Factory, session: Session) -> World:
    division = factory.division()
    rep = factory.user(Role.rep, division)
    other_rep = factory.user(Role.rep, division)
    head = factory.user(Role.division_head, division)
    device, token = enrol(session, division, rep, "LBS-1")
    return World(division, rep, other_rep, head, device, token)


def place_customer(
    session: Session, factory: Factory, division: Division, at: tuple[float, float], *,
    owner: User | None = None, radius_m: float | None = None, name: str | None = None,
) -> Customer:
    customer = factory.customer(division, owner, name=name)
    set_position(customer, *at)
    customer.checkin_radius_m = radius_m
    session.add(customer)
    session.commit()
    return customer


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def fix(at: datetime, lat: float = SHANGHAI[0], lon: float = SHANGHAI[1], **extra: Any) -> dict[str, Any]:
    return {"time": iso(at), "lat": lat, "lon": lon, "accuracy_m": 10.0, **extra}


def minutes_ago(n: float) -> datetime:
    return (datetime.now(UTC) - timedelta(minutes=n)).replace(microsecond=0)


def raw_request(base_url: str, name: str, **values: str) -> tuple[int, bytes]:
    """Send a stored HTTP request byte for byte (placeholders ``{KEY}`` filled in); status and body."""
    host = urlsplit(base_url)
    text = (DATA / name).read_bytes().decode()
    values = {"HOST": host.netloc, **values}
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    head, _, body = text.partition("\r\n\r\n")
    head = head.replace("{LENGTH}", str(len(body.encode())))
    payload = (head + "\r\n\r\n" + body).encode()
    with socket.create_connection((host.hostname, host.port), timeout=10) as sock:
        sock.sendall(payload)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    response = b"".join(chunks)
    status_line, _, rest = response.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


def basic(token: str, user: str = "zhangsan") -> str:
    return base64.b64encode(f"{user}:{token}".encode()).decode()
