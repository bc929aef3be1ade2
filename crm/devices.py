"""Company phones and their credentials (separate from user credentials)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from crm.types import UTCDateTime, utcnow


class Device(SQLModel, table=True):
    __tablename__ = "device"
    __scope__ = "org"
    __owner_column__ = "rep_user_id"

    id: int | None = Field(default=None, primary_key=True)
    serial: str = Field(max_length=64, index=True)
    brand: str = Field(default="", max_length=64)
    model: str = Field(default="", max_length=64)
    android_release: str = Field(default="", max_length=16)
    sdk: int | None = None
    imei: str = Field(default="", max_length=32)
    division_id: int = Field(foreign_key="division.id", index=True)
    rep_user_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    enrolled_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    enrolled_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    status: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class DeviceToken(SQLModel, table=True):
    """A device's API secret; only its SHA-256 is stored."""

    __tablename__ = "device_token"

    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class EnrolmentCode(SQLModel, table=True):
    """A one-time code an admin hands to IT so the agent can enrol a phone without admin credentials."""

    __tablename__ = "enrolment_code"

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True)
    division_id: int = Field(foreign_key="division.id")
    rep_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_by_user_id: int = Field(foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    used_by_device_id: int | None = Field(default=None, foreign_key="device.id")
