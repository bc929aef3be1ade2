"""Which division an actor acts in, and whether they manage it (write-side checks; reads use crm.access)."""

from __future__ import annotations

from sqlmodel import Session

from crm.access import manages_division
from crm.errors import DomainError, Forbidden, NotFound
from crm.org import Division, Role, User

MANAGER_ROLES = frozenset({Role.executive, Role.division_head, Role.division_admin})


def is_manager(actor: User) -> bool:
    """Executives, division heads and division admins manage sales data; reps and sysadmins do not."""
    return Role(actor.role) in MANAGER_ROLES


def acting_division(session: Session, actor: User, division_id: int | None) -> int:
    """The division a new row goes to: the actor's own, or (executives) the one they name."""
    role = Role(actor.role)
    if role is Role.sysadmin:
        raise Forbidden("system admins do not handle sales data", code="role.sysadmin_no_sales")
    if role is Role.executive:
        if division_id is None:
            raise DomainError("name the division", field="division_id", code="division.required")
        if session.get(Division, division_id) is None:
            raise NotFound("no such division", field="division_id", code="division.not_found")
        return division_id
    if division_id is not None and division_id != actor.division_id:
        raise Forbidden(
            "you may only work in your own division", field="division_id", code="division.not_own"
        )
    if actor.division_id is None:
        raise Forbidden("you belong to no division", code="division.none")
    return actor.division_id


def require_manager(actor: User, division_id: int | None) -> None:
    """Managers of the division (and executives) only."""
    if not (is_manager(actor) and manages_division(actor, division_id)):
        raise Forbidden("only the division's managers may do this", code="role.managers_only")
