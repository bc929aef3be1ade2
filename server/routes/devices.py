"""Phones: enrolment, listing, revocation."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import Field
from sqlmodel import select

from crm.access import get_visible, scope
from crm.devices import Device
from crm.types import utcnow
from server.deps import CurrentDevice, CurrentUser, OptionalUser, SessionDep, client_ip
from server.enrolment import (
    DeviceIdentity,
    create_enrolment_code,
    enrol_by_admin,
    enrol_by_code,
    revoke_device,
)
from server.routes.schemas import Read, Strict

router = APIRouter(prefix="/api/v1", tags=["devices"])


class EnrolIn(Strict):
    serial: str = Field(min_length=1, max_length=64)
    brand: str = Field(default="", max_length=64)
    model: str = Field(default="", max_length=64)
    android_release: str = Field(default="", max_length=16)
    sdk: int | None = Field(default=None, ge=1, le=100)
    imei: str = Field(default="", max_length=32)
    division_id: int | None = None
    rep_user_id: int | None = None
    code: str | None = Field(
        default=None, max_length=128, description="One-time enrolment code instead of admin sign-in."
    )


class DeviceRead(Read):
    id: int
    serial: str
    brand: str
    model: str
    android_release: str
    sdk: int | None
    division_id: int
    rep_user_id: int | None
    enrolled_at: datetime
    revoked_at: datetime | None
    last_seen_at: datetime | None
    status: dict[str, Any]


class EnrolOut(Read):
    device: DeviceRead
    token: str = Field(description="Shown once; the server keeps only its hash.")


class EnrolmentCodeIn(Strict):
    division_id: int
    rep_user_id: int | None = None
    valid_hours: int = Field(default=24, ge=1, le=24 * 30)


class EnrolmentCodeOut(Read):
    code: str
    expires_at: datetime


@router.post("/devices/enrol", response_model=EnrolOut, status_code=201)
def enrol(body: EnrolIn, request: Request, session: SessionDep, admin: OptionalUser) -> EnrolOut:
    identity = DeviceIdentity(
        serial=body.serial,
        brand=body.brand,
        model=body.model,
        android_release=body.android_release,
        sdk=body.sdk,
        imei=body.imei,
    )
    now, ip = utcnow(), client_ip(request)
    if body.code:
        enrolled = enrol_by_code(session, code=body.code, identity=identity, ip=ip, now=now)
    else:
        if admin is None:
            raise HTTPException(401, "sign in as an admin or give an enrolment code")
        enrolled = enrol_by_admin(
            session,
            admin=admin,
            identity=identity,
            division_id=body.division_id,
            rep_user_id=body.rep_user_id,
            ip=ip,
            now=now,
        )
    return EnrolOut(device=DeviceRead.model_validate(enrolled.device), token=enrolled.token)


@router.post("/enrolment-codes", response_model=EnrolmentCodeOut, status_code=201)
def post_enrolment_code(
    body: EnrolmentCodeIn, request: Request, session: SessionDep, user: CurrentUser
) -> EnrolmentCodeOut:
    code, row = create_enrolment_code(
        session,
        admin=user,
        division_id=body.division_id,
        rep_user_id=body.rep_user_id,
        lifetime=timedelta(hours=body.valid_hours),
        ip=client_ip(request),
        now=utcnow(),
    )
    return EnrolmentCodeOut(code=code, expires_at=row.expires_at)


@router.get("/devices", response_model=list[DeviceRead])
def list_devices(
    session: SessionDep,
    user: CurrentUser,
    include_revoked: bool = False,
    limit: int = Query(default=500, ge=1, le=5000),
) -> list[Device]:
    stmt = select(Device).order_by(Device.id).limit(limit)
    if not include_revoked:
        stmt = stmt.where(Device.revoked_at.is_(None))
    return list(session.exec(scope(stmt, user, Device)))


@router.get("/devices/me", response_model=DeviceRead)
def device_self(device: CurrentDevice) -> Device:
    return device


@router.post("/devices/{device_id}/revoke", response_model=DeviceRead)
def revoke(device_id: int, request: Request, session: SessionDep, user: CurrentUser) -> Device:
    device = get_visible(session, user, Device, device_id)
    if device is None:
        raise HTTPException(404, "no such device")
    return revoke_device(session, admin=user, device=device, ip=client_ip(request), now=utcnow())
