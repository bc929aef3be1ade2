"""Every change to a division's sales configuration (pipelines, stages, lost reasons, grades,
pool rules, SLAs, service strategies) leaves an audit row, in the same transaction."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from crm.audit import record_audit
from crm.org import User


def audit_config(
    session: Session,
    *,
    actor: User,
    action: str,
    target_type: str,
    target_id: int | str,
    division_id: int,
    detail: dict[str, Any],
    ip: str = "",
) -> None:
    """An audit row ``config.<action>`` (e.g. ``config.stage.delete``) with what changed in ``detail``."""
    record_audit(
        session,
        action=f"config.{action}",
        actor_user_id=actor.id,
        actor_label=actor.username,
        target_type=target_type,
        target_id=target_id,
        division_id=division_id,
        ip=ip,
        detail=detail,
    )
