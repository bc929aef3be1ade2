"""Organisation: divisions (版块), users and their roles."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String
from sqlmodel import Field, SQLModel

from crm.types import UTCDateTime, utcnow


class Role(StrEnum):
    executive = "executive"
    division_head = "division_head"
    rep = "rep"
    division_admin = "division_admin"
    sysadmin = "sysadmin"


ROLES_WITHOUT_DIVISION = {Role.executive, Role.sysadmin}


class Division(SQLModel, table=True):
    __tablename__ = "division"
    __scope__ = "org"
    __division_column__ = "id"
    __visible_to_members__ = True

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    code: str = Field(max_length=32, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class User(SQLModel, table=True):
    __tablename__ = "app_user"
    __scope__ = "org"
    __owner_column__ = "id"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    display_name: str = Field(default="", max_length=100)
    password_hash: str = Field(max_length=255)
    role: Role = Field(sa_type=String(20))
    division_id: int | None = Field(default=None, foreign_key="division.id", index=True)
    phone: str | None = Field(default=None, max_length=32)
    locale: str = Field(default="zh", max_length=8)
    is_active: bool = True
    frozen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
