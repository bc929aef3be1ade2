"""Sample organisation for ``fieldcrm demo``: divisions and one user per role (idempotent)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from crm.org import Division, Role, User
from crm.org_service import create_division, create_user
from server.auth.secrets import hash_password

DEMO_PASSWORD = "fieldcrm-demo"

DIVISIONS = [("华东销售部", "EAST"), ("华南销售部", "SOUTH")]
USERS = [
    ("admin", "系统管理员", Role.sysadmin, None),
    ("boss", "集团总经理", Role.executive, None),
    ("east.head", "华东负责人", Role.division_head, "EAST"),
    ("east.admin", "华东运营", Role.division_admin, "EAST"),
    ("east.rep1", "张伟", Role.rep, "EAST"),
    ("east.rep2", "李娜", Role.rep, "EAST"),
    ("east.rep3", "王芳", Role.rep, "EAST"),
    ("south.head", "华南负责人", Role.division_head, "SOUTH"),
    ("south.rep1", "陈静", Role.rep, "SOUTH"),
]


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: Role
    division: str | None


def seed_organisation(session: Session) -> list[DemoLogin]:
    divisions = {d.code: d for d in session.exec(select(Division))}
    for name, code in DIVISIONS:
        if code not in divisions:
            divisions[code] = create_division(session, caller=None, name=name, code=code)
    existing = {u.username for u in session.exec(select(User))}
    password_hash = hash_password(DEMO_PASSWORD)
    for username, display, role, code in USERS:
        if username not in existing:
            create_user(
                session,
                caller=None,
                username=username,
                password_hash=password_hash,
                role=role,
                division_id=divisions[code].id if code else None,
                display_name=display,
            )
    return [DemoLogin(username, role, code) for username, _display, role, code in USERS]
