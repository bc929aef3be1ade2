"""Login, sessions, API tokens and device tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from crm.audit import AuditLog, record_audit
from crm.devices import Device, DeviceToken
from crm.org import User
from server.auth.models import AuthToken, TokenKind
from server.auth.secrets import (
    DEVICE_TOKEN_PREFIX,
    DUMMY_PASSWORD_HASH,
    USER_TOKEN_PREFIX,
    digest,
    new_secret,
    verify_password,
)

LOGIN_FAILED = "auth.login.failed"
LOGIN_OK = "auth.login"


class LoginRateLimited(Exception):
    pass


class LoginFailed(Exception):
    pass


@dataclass(frozen=True)
class IssuedToken:
    secret: str
    token: AuthToken


def _recent_failures(session: Session, *, username: str, ip: str, now: datetime) -> int:
    since = now - timedelta(minutes=1)
    stmt = (
        select(func.count())
        .select_from(AuditLog)
        .where(AuditLog.action == LOGIN_FAILED, AuditLog.occurred_at >= since)
        .where((AuditLog.actor_label == username) | (AuditLog.ip == ip))
    )
    return session.exec(stmt).one()


def authenticate(
    session: Session, *, username: str, password: str, ip: str, now: datetime, max_failures_per_minute: int
) -> User:
    """Check a username and password; every attempt is audited and failures are rate-limited."""
    if _recent_failures(session, username=username, ip=ip, now=now) >= max_failures_per_minute:
        raise LoginRateLimited
    user = session.exec(select(User).where(User.username == username)).first()
    ok = verify_password(user.password_hash if user else DUMMY_PASSWORD_HASH, password)
    usable = user is not None and ok and user.is_active and user.frozen_at is None
    record_audit(
        session,
        action=LOGIN_OK if usable else LOGIN_FAILED,
        actor_user_id=user.id if usable and user else None,
        actor_label=username,
        target_type="user",
        target_id=user.id if user else "",
        division_id=user.division_id if user else None,
        ip=ip,
    )
    session.commit()
    if not usable or user is None:
        raise LoginFailed
    return user


def issue_user_token(
    session: Session, *, user: User, kind: TokenKind, lifetime: timedelta, now: datetime, label: str = ""
) -> IssuedToken:
    secret = new_secret(USER_TOKEN_PREFIX)
    token = AuthToken(
        user_id=user.id,
        kind=kind,
        token_hash=digest(secret),
        label=label,
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(token)
    session.commit()
    return IssuedToken(secret=secret, token=token)


def revoke_user_token(session: Session, secret: str, *, now: datetime) -> None:
    token = session.exec(select(AuthToken).where(AuthToken.token_hash == digest(secret))).first()
    if token is not None and token.revoked_at is None:
        token.revoked_at = now
        session.add(token)
        session.commit()


def issue_device_token(session: Session, *, device: Device, now: datetime) -> str:
    """A new secret for the device; earlier tokens of the device are revoked."""
    for old in session.exec(
        select(DeviceToken).where(DeviceToken.device_id == device.id, DeviceToken.revoked_at.is_(None))
    ):
        old.revoked_at = now
        session.add(old)
    secret = new_secret(DEVICE_TOKEN_PREFIX)
    session.add(DeviceToken(device_id=device.id, token_hash=digest(secret), created_at=now))
    return secret
