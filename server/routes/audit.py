from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlmodel import select

from crm.access import scope
from crm.audit import AuditLog
from crm.org import Role, User
from server.deps import SessionDep, require_roles
from server.routes.schemas import Read

router = APIRouter(prefix="/api/v1", tags=["audit"])


class AuditRead(Read):
    id: int
    occurred_at: datetime
    actor_user_id: int | None
    actor_device_id: int | None
    actor_label: str
    action: str
    target_type: str
    target_id: str
    division_id: int | None
    ip: str
    detail: dict[str, Any]


auditors = require_roles(Role.executive, Role.sysadmin, Role.division_head, Role.division_admin)


@router.get("/audit", response_model=list[AuditRead])
def list_audit(
    session: SessionDep,
    user: User = Depends(auditors),
    action: str | None = None,
    before_id: int | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[AuditLog]:
    stmt = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
    if action:
        stmt = stmt.where(AuditLog.action == action)
    if before_id:
        stmt = stmt.where(AuditLog.id < before_id)
    return list(session.exec(scope(stmt, user, AuditLog)))
