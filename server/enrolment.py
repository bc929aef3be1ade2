"""Enrolling a phone: the server issues a per-device token (hashed at rest, revocable)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from crm.access import manages_division
from crm.audit import record_audit
from crm.devices import Device, DeviceToken, EnrolmentCode
from crm.errors import DomainError, Forbidden, NotFound
from crm.org import Division, Role, User
from server.auth.secrets import ENROLMENT_CODE_PREFIX, digest, new_secret
from server.auth.service import issue_device_token


@dataclass(frozen=True)
class DeviceIdentity:
    serial: str
    brand: str = ""
    model: str = ""
    android_release: str = ""
    sdk: int | None = None
    imei: str = ""


@dataclass(frozen=True)
class Enrolled:
    device: Device
    token: str


def _check_rep(session: Session, rep_user_id: int | None, division_id: int) -> None:
    if rep_user_id is None:
        return
    rep = session.get(User, rep_user_id)
    if rep is None or rep.division_id != division_id:
        raise NotFound("no such user in that division", field="rep_user_id")


def _enrol(
    session: Session,
    *,
    identity: DeviceIdentity,
    division_id: int,
    rep_user_id: int | None,
    enrolled_by: int | None,
    ip: str,
    now: datetime,
) -> Enrolled:
    """Re-enrolling a serial that is already active in the division reuses the row and rotates its token."""
    device = session.exec(
        select(Device).where(
            Device.serial == identity.serial, Device.division_id == division_id, Device.revoked_at.is_(None)
        )
    ).first()
    if device is None:
        device = Device(serial=identity.serial, division_id=division_id, enrolled_at=now)
    device.brand, device.model = identity.brand, identity.model
    device.android_release, device.sdk, device.imei = identity.android_release, identity.sdk, identity.imei
    device.rep_user_id = rep_user_id
    device.enrolled_by_user_id = enrolled_by
    session.add(device)
    session.flush()
    token = issue_device_token(session, device=device, now=now)
    record_audit(
        session,
        action="device.enrol",
        actor_user_id=enrolled_by,
        target_type="device",
        target_id=device.id or "",
        division_id=division_id,
        ip=ip,
        detail={"serial": identity.serial, "rep_user_id": rep_user_id},
    )
    session.commit()
    return Enrolled(device=device, token=token)


def enrol_by_admin(
    session: Session,
    *,
    admin: User,
    identity: DeviceIdentity,
    division_id: int | None,
    rep_user_id: int | None,
    ip: str,
    now: datetime,
) -> Enrolled:
    division_id = division_id if division_id is not None else admin.division_id
    if division_id is None or session.get(Division, division_id) is None:
        raise DomainError("a division is required", field="division_id")
    if Role(admin.role) is Role.rep or not manages_division(admin, division_id):
        raise Forbidden("you may not enrol phones in that division")
    _check_rep(session, rep_user_id, division_id)
    return _enrol(
        session,
        identity=identity,
        division_id=division_id,
        rep_user_id=rep_user_id,
        enrolled_by=admin.id,
        ip=ip,
        now=now,
    )


def enrol_by_code(
    session: Session, *, code: str, identity: DeviceIdentity, ip: str, now: datetime
) -> Enrolled:
    row = session.exec(select(EnrolmentCode).where(EnrolmentCode.code_hash == digest(code))).first()
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise Forbidden("invalid, used or expired enrolment code", field="code")
    enrolled = _enrol(
        session,
        identity=identity,
        division_id=row.division_id,
        rep_user_id=row.rep_user_id,
        enrolled_by=row.created_by_user_id,
        ip=ip,
        now=now,
    )
    row.used_at = now
    row.used_by_device_id = enrolled.device.id
    session.add(row)
    session.commit()
    return enrolled


def create_enrolment_code(
    session: Session,
    *,
    admin: User,
    division_id: int,
    rep_user_id: int | None,
    lifetime: timedelta,
    ip: str,
    now: datetime,
) -> tuple[str, EnrolmentCode]:
    if Role(admin.role) is Role.rep or not manages_division(admin, division_id):
        raise Forbidden("you may not enrol phones in that division")
    if session.get(Division, division_id) is None:
        raise NotFound("no such division", field="division_id")
    _check_rep(session, rep_user_id, division_id)
    code = new_secret(ENROLMENT_CODE_PREFIX)
    row = EnrolmentCode(
        code_hash=digest(code),
        division_id=division_id,
        rep_user_id=rep_user_id,
        created_by_user_id=admin.id,
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(row)
    record_audit(
        session,
        action="device.enrolment_code",
        actor_user_id=admin.id,
        target_type="division",
        target_id=division_id,
        division_id=division_id,
        ip=ip,
    )
    session.commit()
    return code, row


def revoke_device(session: Session, *, admin: User, device: Device, ip: str, now: datetime) -> Device:
    if Role(admin.role) is Role.rep or not manages_division(admin, device.division_id):
        raise Forbidden("you may not revoke phones of that division")
    device.revoked_at = now
    for token in session.exec(select(DeviceToken).where(DeviceToken.device_id == device.id)):
        token.revoked_at = token.revoked_at or now
        session.add(token)
    session.add(device)
    record_audit(
        session,
        action="device.revoke",
        actor_user_id=admin.id,
        target_type="device",
        target_id=device.id or "",
        division_id=device.division_id,
        ip=ip,
    )
    session.commit()
    return device
