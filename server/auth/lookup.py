"""Who a presented token belongs to, looked up on the event loop for every authenticated request.

The lookup is one driver-level read (``server.loop_reads``) of the token's row joined to its
user's (or device's), made afresh for every request with autocommit: a revoked or expired
token, a frozen or deactivated user, a revoked device is refused on the very next request, in
any worker process. Only recording the token's use (a write, at most every few minutes per
user token, every 30 s per device) goes to a worker thread.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, bindparam, select, update
from sqlalchemy.orm.attributes import set_committed_value
from starlette.concurrency import run_in_threadpool

from crm.devices import Device, DeviceToken
from crm.org import User
from server.auth.models import AuthToken, TokenKind
from server.auth.secrets import DEVICE_TOKEN_PREFIX, USER_TOKEN_PREFIX, digest
from server.loop_reads import LoopRead, detached, model_columns

TOKEN_USE_RECORDED_EVERY = timedelta(minutes=5)
DEVICE_SEEN_RECORDED_EVERY = timedelta(seconds=30)

_USER_COLUMNS = model_columns(User)
_USER_BY_TOKEN = (
    select(
        *_USER_COLUMNS,
        AuthToken.id,
        AuthToken.kind,
        AuthToken.revoked_at,
        AuthToken.expires_at,
        AuthToken.last_used_at,
    )
    .join(AuthToken, AuthToken.user_id == User.id)
    .where(AuthToken.token_hash == bindparam("token_hash"))
)

_DEVICE_COLUMNS = model_columns(Device)
_DEVICE_BY_TOKEN = (
    select(*_DEVICE_COLUMNS, DeviceToken.id, DeviceToken.revoked_at)
    .join(DeviceToken, DeviceToken.device_id == Device.id)
    .where(DeviceToken.token_hash == bindparam("token_hash"))
)


def record_token_use(engine: Engine, token_id: int, now: datetime) -> None:
    with engine.begin() as connection:
        connection.execute(update(AuthToken).where(AuthToken.id == token_id).values(last_used_at=now))


class UserTokens:
    """The users of API tokens and session cookies of one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._read = LoopRead(_USER_BY_TOKEN, engine)

    async def user(self, secret: str, *, now: datetime, kind: TokenKind | None = None) -> User | None:
        """The token's user, detached from any session; None unless the token is a live one of
        ``kind`` (any kind if None) and its user is active and not frozen."""
        if not secret.startswith(USER_TOKEN_PREFIX):
            return None
        row = self._read.first({"token_hash": digest(secret)})
        if row is None:
            return None
        token_id, token_kind, revoked_at, expires_at, last_used_at = row[len(_USER_COLUMNS) :]
        if revoked_at is not None or expires_at <= now or (kind is not None and token_kind != kind):
            return None
        user = detached(User, row[: len(_USER_COLUMNS)])
        if not user.is_active or user.frozen_at is not None:
            return None
        if last_used_at is None or now - last_used_at > TOKEN_USE_RECORDED_EVERY:
            await run_in_threadpool(record_token_use, self.engine, token_id, now)
        return user


def record_device_seen(engine: Engine, device_id: int, token_id: int, now: datetime) -> None:
    with engine.begin() as connection:
        connection.execute(update(Device).where(Device.id == device_id).values(last_seen_at=now))
        connection.execute(update(DeviceToken).where(DeviceToken.id == token_id).values(last_used_at=now))


class DeviceTokens:
    """The devices of device tokens of one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._read = LoopRead(_DEVICE_BY_TOKEN, engine)

    def _find(self, secret: str, now: datetime) -> tuple[Device, int | None] | None:
        """The token's device unless either is revoked, and the token's id if it is time to
        record that the device was seen (the device then says it was seen ``now``)."""
        if not secret.startswith(DEVICE_TOKEN_PREFIX):
            return None
        row = self._read.first({"token_hash": digest(secret)})
        if row is None:
            return None
        token_id, token_revoked_at = row[len(_DEVICE_COLUMNS) :]
        device = detached(Device, row[: len(_DEVICE_COLUMNS)])
        if token_revoked_at is not None or device.revoked_at is not None:
            return None
        if device.last_seen_at is not None and now - device.last_seen_at <= DEVICE_SEEN_RECORDED_EVERY:
            return device, None
        set_committed_value(device, "last_seen_at", now)
        return device, token_id

    async def device(self, secret: str, *, now: datetime) -> Device | None:
        """For the event loop: the device, detached from any session, or None."""
        if (found := self._find(secret, now)) is None:
            return None
        device, due = found
        if due is not None:
            await run_in_threadpool(record_device_seen, self.engine, device.id, due, now)
        return device

    def device_in_thread(self, secret: str, *, now: datetime) -> Device | None:
        """The same for synchronous code (a route running in a worker thread)."""
        if (found := self._find(secret, now)) is None:
            return None
        device, due = found
        if due is not None:
            record_device_seen(self.engine, device.id, due, now)
        return device
