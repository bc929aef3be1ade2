"""The one access-scope layer: every query of division-owned data goes through ``scope``.

Tables are of two kinds:

* business data (customers, calls, tickets, ...): ``__scope__ = "business"`` (the default).
  Executives see all divisions; division heads and division admins see their division;
  reps see, in their division, rows they own plus unowned rows (the public pool);
  a row without an owner column but with a ``customer_id`` (contacts, phones, timeline
  events, ...) is seen by a rep when its customer is;
  system admins see none (they run the system, not the sales).
* organisation data (users, devices, audit, divisions): ``__scope__ = "org"``.
  Executives and system admins see all; division heads/admins see their division;
  reps see only what is theirs (and their own division's row: ``__visible_to_members__``).

A table names its division column (``__division_column__``, default ``division_id``) and,
optionally, the column naming its owning user (``__owner_column__``).
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, false, or_, true
from sqlmodel import Session, select

from crm.org import Role, User

T = TypeVar("T")


def _column(model: type, name: str | None) -> Any:
    return getattr(model, name) if name else None


def _customer_clause(actor: User, model: type) -> ColumnElement[bool] | None:
    """For a rep: the row's customer is theirs or in the pool (None when the table has no customer)."""
    column = model.__table__.c.get("customer_id")  # type: ignore[attr-defined]
    if column is None or not column.foreign_keys:
        return None
    customers = next(iter(column.foreign_keys)).column.table
    visible = select(customers.c.id).where(
        customers.c.division_id == actor.division_id,
        or_(customers.c.owner_id == actor.id, customers.c.owner_id.is_(None)),
    )
    return column.in_(visible)


def scope_clause(actor: User, model: type) -> ColumnElement[bool]:
    """The WHERE clause restricting ``model`` to the rows ``actor`` may see."""
    if not actor.is_active or actor.frozen_at is not None:
        return false()
    kind = getattr(model, "__scope__", "business")
    division = _column(model, getattr(model, "__division_column__", "division_id"))
    owner = _column(model, getattr(model, "__owner_column__", None))
    role = Role(actor.role)

    if role is Role.executive:
        return true()
    if role is Role.sysadmin:
        return true() if kind == "org" else false()
    if actor.division_id is None or division is None:
        return false()
    in_division = division == actor.division_id
    if role in (Role.division_head, Role.division_admin):
        return in_division
    # rep
    if owner is None:
        if kind != "business":
            return in_division if getattr(model, "__visible_to_members__", False) else false()
        through_customer = _customer_clause(actor, model)
        return in_division if through_customer is None else in_division & through_customer
    if kind == "org":
        return in_division & (owner == actor.id)
    return in_division & or_(owner == actor.id, owner.is_(None))


def scope(statement: Select, actor: User, model: type) -> Select:
    """Restrict a SELECT over ``model`` to what ``actor`` may see."""
    return statement.where(scope_clause(actor, model))


def get_visible(session: Session, actor: User, model: type[T], row_id: Any) -> T | None:
    """Fetch one row by primary key, or None when it does not exist or is out of the actor's scope."""
    pk = model.__table__.primary_key.columns.values()[0]  # type: ignore[attr-defined]
    return session.exec(scope(select(model).where(pk == row_id), actor, model)).first()


def sees_full_numbers(actor: User, owner_id: int | None) -> bool:
    """Reps see customers' phone numbers masked unless the customer is theirs."""
    return Role(actor.role) is not Role.rep or owner_id == actor.id


def manages_division(actor: User, division_id: int | None) -> bool:
    """May the actor administer users/devices/configuration of this division?"""
    role = Role(actor.role)
    if role in (Role.executive, Role.sysadmin):
        return True
    return role in (Role.division_head, Role.division_admin) and actor.division_id == division_id
