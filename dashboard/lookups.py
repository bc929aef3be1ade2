"""Small scoped look-ups the pages share (names of users, customers and stages; reps; divisions)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Row
from sqlmodel import Session, select

from crm.access import scope
from crm.customers import Customer
from crm.org import Division, Role, User
from crm.pipeline import PipelineStage


def user_names(session: Session, actor: User, ids: Iterable[int | None]) -> dict[int, str]:
    """Display names of the users among ``ids`` that the actor may see."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = session.exec(
        scope(select(User.id, User.display_name, User.username), actor, User).where(User.id.in_(wanted))
    )
    return {uid: display or username for uid, display, username in rows}


def visible_reps(session: Session, actor: User) -> list[Row[tuple[int, str, str, int]]]:
    """Active reps the actor may see, by name: ``id``, ``display_name``, ``username``, ``division_id``
    (plain rows: pickers list thousands of reps, and full user objects cost ~0.1 ms each)."""
    stmt = (
        select(User.id, User.display_name, User.username, User.division_id)
        .where(User.role == Role.rep, User.is_active.is_(True))
        .order_by(User.display_name, User.id)
    )
    return list(session.exec(scope(stmt, actor, User)))


def customer_names(session: Session, actor: User, ids: Iterable[int | None]) -> dict[int, str]:
    """Names of the customers among ``ids`` that the actor may see."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = session.exec(
        scope(select(Customer.id, Customer.name), actor, Customer).where(Customer.id.in_(wanted))
    )
    return dict(rows.all())


def visible_divisions(session: Session, actor: User) -> list[Division]:
    """Divisions the actor may see (executives: all; others: their own), by name."""
    return list(session.exec(scope(select(Division), actor, Division).order_by(Division.name)))


def stage_names(session: Session, actor: User, ids: Iterable[int]) -> dict[int, str]:
    """Names of pipeline stages among ``ids`` (of divisions the actor sees)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    stmt = scope(select(PipelineStage.id, PipelineStage.name), actor, PipelineStage)
    return dict(session.exec(stmt.where(PipelineStage.id.in_(wanted))).all())
