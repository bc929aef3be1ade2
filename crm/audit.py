"""Audit log: who did what, when, to what, from where."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, Session, SQLModel

from crm.types import UTCDateTime, utcnow


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"
    __scope__ = "org"
    __owner_column__ = "actor_user_id"

    id: int | None = Field(default=None, primary_key=True)
    occurred_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor_user_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    actor_device_id: int | None = Field(default=None, index=True)
    actor_label: str = Field(default="", max_length=100)
    action: str = Field(max_length=64, index=True)
    target_type: str = Field(default="", max_length=64)
    target_id: str = Field(default="", max_length=64)
    division_id: int | None = Field(default=None, index=True)
    ip: str = Field(default="", max_length=64)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


def record_audit(
    session: Session,
    *,
    action: str,
    actor_user_id: int | None = None,
    actor_device_id: int | None = None,
    actor_label: str = "",
    target_type: str = "",
    target_id: str | int = "",
    division_id: int | None = None,
    ip: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditLog:
    """Add an audit row to the session; the caller's transaction commits it with the action itself."""
    entry = AuditLog(
        action=action,
        actor_user_id=actor_user_id,
        actor_device_id=actor_device_id,
        actor_label=actor_label[:100],
        target_type=target_type,
        target_id=str(target_id),
        division_id=division_id,
        ip=ip[:64],
        detail=detail or {},
    )
    session.add(entry)
    return entry
