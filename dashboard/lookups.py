"""Small scoped look-ups the pages share (names of users, reps of a division)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, select

from crm.access import scope
from crm.org import Role, User


def user_names(session: Session, actor: User, ids: Iterable[int | None]) -> dict[int, str]:
    """Display names of the users among ``ids`` that the actor may see."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = session.exec(
        scope(select(User.id, User.display_name, User.username), actor, User).where(User.id.in_(wanted))
    )
    return {uid: display or username for uid, display, username in rows}


def visible_reps(session: Session, actor: User) -> list[User]:
    """Active reps the actor may see, by name."""
    stmt = (
        select(User)
        .where(User.role == Role.rep, User.is_active.is_(True))
        .order_by(User.display_name, User.id)
    )
    return list(session.exec(scope(stmt, actor, User)))
