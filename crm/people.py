"""People changes: freeze a departing user at once, then hand their book over in bulk.

Customers go round-robin to the chosen colleagues (or to the pool); the opportunities,
open tasks and leads of a customer follow that customer's new owner, the rest go
round-robin too; devices go to the first colleague. Each batch is kept as a
``reassignment`` row (what moved where), customers also in the ownership history.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from itertools import cycle
from typing import Any

from pydantic import Field
from sqlalchemy import JSON, Column, String, update
from sqlmodel import Field as SQLField
from sqlmodel import Session, SQLModel, select

from crm.access import get_visible, manages_division
from crm.activities import Activity, ActivityStatus
from crm.actors import is_manager
from crm.audit import record_audit
from crm.customers import Customer
from crm.devices import Device
from crm.errors import DomainError, Forbidden, NotFound
from crm.leads import OPEN_LEAD_STATUSES, Lead
from crm.org import User
from crm.ownership import Handover, OwnershipReason, hand_over
from crm.pipeline import Opportunity, OpportunityStatus
from crm.schemas import Input, View
from crm.types import UTCDateTime


class Holding(StrEnum):
    customers = "customers"
    opportunities = "opportunities"
    tasks = "tasks"
    leads = "leads"
    devices = "devices"


class Reassignment(SQLModel, table=True):
    __tablename__ = "reassignment"
    __scope__ = "org"
    __owner_column__ = "from_user_id"

    id: int | None = SQLField(default=None, primary_key=True)
    division_id: int = SQLField(foreign_key="division.id", index=True)
    from_user_id: int = SQLField(foreign_key="app_user.id", index=True)
    to_user_ids: list[int] = SQLField(default_factory=list, sa_column=Column(JSON, nullable=False))
    to_pool: bool = False
    reason: str = SQLField(default="", max_length=500)
    moved: dict[str, Any] = SQLField(
        default_factory=dict,
        sa_column=Column(JSON, nullable=False),
        description="{kind: {item id: new owner}}",
    )
    actor_user_id: int | None = SQLField(default=None, foreign_key="app_user.id")
    occurred_at: datetime = SQLField(sa_type=UTCDateTime)
    kind: str = SQLField(default="departure", sa_type=String(16))


class ReassignIn(Input):
    to_user_ids: list[int] = Field(default_factory=list, max_length=50)
    to_pool: bool = False
    what: list[Holding] = Field(default_factory=lambda: list(Holding))
    reason: str = Field(default="离职交接", max_length=500)


class HoldingsView(View):
    customers: int
    opportunities: int
    tasks: int
    leads: int
    devices: int


class ReassignmentView(View):
    id: int
    from_user_id: int
    to_user_ids: list[int]
    to_pool: bool
    reason: str
    counts: dict[str, int]
    occurred_at: datetime


def _managed_user(session: Session, actor: User, user_id: int) -> User:
    user = get_visible(session, actor, User, user_id)
    if user is None or not is_manager(actor) or not manages_division(actor, user.division_id):
        raise NotFound("no such user in a division you manage", field="user_id", code="user.not_managed")
    return user


def freeze_user(session: Session, *, actor: User, user_id: int, now: datetime, ip: str = "") -> User:
    """Block a user's sign-in and API access immediately (audited as a permission change)."""
    user = _managed_user(session, actor, user_id)
    if user.id == actor.id:
        raise Forbidden("you cannot freeze yourself", field="user_id", code="user.self_freeze_forbidden")
    if user.frozen_at is not None:
        raise DomainError("the user is frozen already", field="user_id", code="user.already_frozen")
    user.frozen_at = now
    session.add(user)
    record_audit(
        session,
        action="user.permission_change",
        actor_user_id=actor.id,
        target_type="user",
        target_id=user_id,
        division_id=user.division_id,
        ip=ip,
        detail={"frozen_at": now.isoformat(), "change": "freeze"},
    )
    session.commit()
    return user


def holdings(session: Session, *, actor: User, user_id: int) -> HoldingsView:
    _managed_user(session, actor, user_id)
    return HoldingsView(**{kind.value: len(ids) for kind, ids in _held(session, user_id).items()})


def _held(session: Session, user_id: int) -> dict[Holding, list[int]]:
    return {
        Holding.customers: list(
            session.scalars(
                select(Customer.id)
                .where(Customer.owner_id == user_id, Customer.merged_into_id.is_(None))
                .order_by(Customer.id)
            )
        ),
        Holding.opportunities: list(
            session.scalars(
                select(Opportunity.id)
                .where(Opportunity.owner_id == user_id, Opportunity.status == OpportunityStatus.open)
                .order_by(Opportunity.id)
            )
        ),
        Holding.tasks: list(
            session.scalars(
                select(Activity.id)
                .where(Activity.owner_id == user_id, Activity.status == ActivityStatus.open)
                .order_by(Activity.id)
            )
        ),
        Holding.leads: list(
            session.scalars(
                select(Lead.id)
                .where(Lead.owner_id == user_id, Lead.status.in_(OPEN_LEAD_STATUSES))
                .order_by(Lead.id)
            )
        ),
        Holding.devices: list(
            session.scalars(
                select(Device.id).where(Device.rep_user_id == user_id, Device.revoked_at.is_(None))
            )
        ),
    }


def _targets(session: Session, user: User, data: ReassignIn) -> list[User]:
    if data.to_pool == bool(data.to_user_ids):
        raise DomainError(
            "name the colleagues, or hand over to the pool (one of the two)",
            field="to_user_ids",
            code="reassign.target_choice",
        )
    targets = []
    for target_id in dict.fromkeys(data.to_user_ids):
        target = session.get(User, target_id)
        if (
            target is None
            or target.id == user.id
            or target.division_id != user.division_id
            or not target.is_active
            or target.frozen_at is not None
        ):
            raise DomainError(
                f"user {target_id} is not an active colleague in the same division",
                field="to_user_ids",
                code="reassign.target_invalid",
                params={"user_id": target_id},
            )
        targets.append(target)
    return targets


def _follow_customer(
    session: Session, model: type, ids: Sequence[int], customer_owner: dict[int, int | None], rotation: Any
) -> dict[int, int | None]:
    """New owner per item: the new owner of its customer when that moved, else the next colleague."""
    if not ids:
        return {}
    customers = dict(session.execute(select(model.id, model.customer_id).where(model.id.in_(ids))).all())
    return {
        i: customer_owner[customers[i]] if customers.get(i) in customer_owner else next(rotation) for i in ids
    }


def reassign(
    session: Session, *, actor: User, user_id: int, data: ReassignIn, now: datetime, ip: str = ""
) -> ReassignmentView:
    user = _managed_user(session, actor, user_id)
    targets = _targets(session, user, data)
    rotation = cycle([t.id for t in targets]) if targets else cycle([None])
    held = _held(session, user_id)
    moved: dict[str, dict[int, int | None]] = {}
    wanted = set(data.what)

    if Holding.customers in wanted:
        new_owner = {cid: next(rotation) for cid in held[Holding.customers]}
        handovers = [Handover(cid, user.division_id, user_id, owner) for cid, owner in new_owner.items()]  # type: ignore[arg-type]
        hand_over(
            session,
            handovers,
            reason=OwnershipReason.departure,
            actor_user_id=actor.id,
            now=now,
            note=data.reason,
        )
        moved[Holding.customers] = new_owner
    customer_owner = moved.get(Holding.customers, {})
    for kind, model in (
        (Holding.opportunities, Opportunity),
        (Holding.tasks, Activity),
        (Holding.leads, Lead),
    ):
        if kind not in wanted:
            continue
        if model is Lead:
            plan = {i: next(rotation) for i in held[kind]}
        else:
            plan = _follow_customer(session, model, held[kind], customer_owner, rotation)
        for item_id, owner in plan.items():
            session.execute(update(model).where(model.id == item_id).values(owner_id=owner))
        moved[kind] = plan
    if Holding.devices in wanted and held[Holding.devices]:
        device_owner = targets[0].id if targets else None
        session.execute(
            update(Device).where(Device.id.in_(held[Holding.devices])).values(rep_user_id=device_owner)
        )
        moved[Holding.devices] = dict.fromkeys(held[Holding.devices], device_owner)

    row = Reassignment(
        division_id=user.division_id,  # type: ignore[arg-type]
        from_user_id=user_id,
        to_user_ids=[t.id for t in targets],  # type: ignore[misc]
        to_pool=data.to_pool,
        reason=data.reason,
        moved={str(k): {str(i): o for i, o in v.items()} for k, v in moved.items()},
        actor_user_id=actor.id,
        occurred_at=now,
    )
    session.add(row)
    counts = {str(k): len(v) for k, v in moved.items()}
    record_audit(
        session,
        action="user.reassign",
        actor_user_id=actor.id,
        target_type="user",
        target_id=user_id,
        division_id=user.division_id,
        ip=ip,
        detail={"to": row.to_user_ids, "to_pool": data.to_pool, "counts": counts},
    )
    session.commit()
    return ReassignmentView(
        id=row.id,
        from_user_id=user_id,
        to_user_ids=row.to_user_ids,
        to_pool=data.to_pool,  # type: ignore[arg-type]
        reason=data.reason,
        counts=counts,
        occurred_at=now,
    )
