"""Divisions and users: creation and permission changes, each permission change audited."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from crm.access import manages_division, scope
from crm.audit import record_audit
from crm.errors import Conflict, DomainError, Forbidden, NotFound
from crm.org import ROLES_WITHOUT_DIVISION, Division, Role, User
from crm.types import utcnow

# Which roles each role may hand out.
GRANTABLE: dict[Role, set[Role]] = {
    Role.executive: set(Role),
    Role.sysadmin: set(Role),
    Role.division_head: {Role.rep, Role.division_admin},
    Role.division_admin: {Role.rep},
    Role.rep: set(),
}


@dataclass(frozen=True)
class Caller:
    """Who asks, and from where (for the audit log)."""

    user: User
    ip: str = ""


def create_division(session: Session, *, caller: Caller | None, name: str, code: str) -> Division:
    """Create a division; ``caller`` None means the operator's command line."""
    if caller is not None and Role(caller.user.role) not in (Role.executive, Role.sysadmin):
        raise Forbidden(
            "only executives and system admins create divisions", code="division.create_forbidden"
        )
    division = Division(name=name.strip(), code=code.strip())
    _insert_audited(
        session,
        division,
        caller=caller,
        action="division.create",
        conflict=Conflict("a division with this name or code exists", field="name", code="division.exists"),
        detail={"name": division.name, "code": division.code},
    )
    return division


def _insert_audited(
    session: Session,
    row: Division | User,
    *,
    caller: Caller | None,
    action: str,
    conflict: Conflict,
    detail: dict,
) -> None:
    """Insert ``row`` and its audit entry in one transaction; a unique clash becomes ``conflict``."""
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise conflict from exc
    record_audit(
        session,
        action=action,
        actor_user_id=caller.user.id if caller else None,
        actor_label="" if caller else "cli",
        target_type="division" if isinstance(row, Division) else "user",
        target_id=row.id or "",
        division_id=row.id if isinstance(row, Division) else row.division_id,
        ip=caller.ip if caller else "",
        detail=detail,
    )
    session.commit()


def _check_grant(caller: User, role: Role, division_id: int | None, session: Session) -> None:
    if role not in GRANTABLE[Role(caller.role)]:
        raise Forbidden(
            f"your role may not grant the role {role}",
            field="role",
            code="role.grant_forbidden",
            params={"role": str(role)},
        )
    if role in ROLES_WITHOUT_DIVISION:
        if division_id is not None:
            raise DomainError(
                f"role {role} spans all divisions; give no division",
                field="division_id",
                code="role.no_division_allowed",
                params={"role": str(role)},
            )
        return
    if division_id is None:
        raise DomainError(
            f"role {role} needs a division",
            field="division_id",
            code="role.division_required",
            params={"role": str(role)},
        )
    if session.get(Division, division_id) is None:
        raise NotFound("no such division", field="division_id", code="division.not_found")
    if not manages_division(caller, division_id):
        raise Forbidden(
            "you do not administer that division", field="division_id", code="division.not_administered"
        )


def create_user(
    session: Session,
    *,
    caller: Caller | None,
    username: str,
    password_hash: str,
    role: Role,
    division_id: int | None,
    display_name: str = "",
    phone: str | None = None,
    locale: str = "zh",
) -> User:
    """Create a user; ``caller`` None means the command line run by the server's operator."""
    if caller is not None:
        _check_grant(caller.user, role, division_id, session)
    elif (role in ROLES_WITHOUT_DIVISION) != (division_id is None):
        raise DomainError(
            f"role {role} {'takes no' if role in ROLES_WITHOUT_DIVISION else 'needs a'} division",
            code="role.division_mismatch",
            params={"role": str(role)},
        )
    user = User(
        username=username.strip(),
        display_name=display_name or username,
        password_hash=password_hash,
        role=role,
        division_id=division_id,
        phone=phone,
        locale=locale,
    )
    _insert_audited(
        session,
        user,
        caller=caller,
        action="user.create",
        conflict=Conflict("username already taken", field="username", code="user.username_taken"),
        detail={"role": role, "division_id": division_id},
    )
    return user


def change_user(
    session: Session,
    *,
    caller: Caller,
    user_id: int,
    role: Role | None = None,
    division_id: int | None = None,
    clear_division: bool = False,
    is_active: bool | None = None,
    display_name: str | None = None,
    locale: str | None = None,
) -> User:
    """Change a user's role, division or active flag (audited as a permission change)."""
    target = session.exec(scope(select(User).where(User.id == user_id), caller.user, User)).first()
    if target is None or not manages_division(caller.user, target.division_id):
        raise NotFound("no such user", code="user.not_found")
    if target.id == caller.user.id and (role is not None or is_active is False):
        raise Forbidden(
            "you cannot change your own role or deactivate yourself", code="user.self_change_forbidden"
        )
    if Role(target.role) not in GRANTABLE[Role(caller.user.role)]:
        raise Forbidden("your role may not change this user", code="user.change_forbidden")
    before = {"role": target.role, "division_id": target.division_id, "is_active": target.is_active}
    new_role = role or Role(target.role)
    new_division = (
        None if clear_division else (division_id if division_id is not None else target.division_id)
    )
    if new_role in ROLES_WITHOUT_DIVISION:
        new_division = None
    if role is not None or division_id is not None or clear_division:
        _check_grant(caller.user, new_role, new_division, session)
    target.role = new_role
    target.division_id = new_division
    if is_active is not None:
        target.is_active = is_active
    if display_name is not None:
        target.display_name = display_name
    if locale is not None:
        target.locale = locale
    after = {"role": target.role, "division_id": target.division_id, "is_active": target.is_active}
    session.add(target)
    if before != after:
        record_audit(
            session,
            action="user.permission_change",
            actor_user_id=caller.user.id,
            target_type="user",
            target_id=target.id or "",
            division_id=target.division_id,
            ip=caller.ip,
            detail={"before": before, "after": after, "at": utcnow().isoformat()},
        )
    session.commit()
    return target
