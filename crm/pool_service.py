"""Claiming from, releasing to and assigning out of the public pool (公海), and the pools' rules.

A claim is race-safe: the customer changes hands with ``UPDATE ... WHERE owner_id IS NULL``,
so of two reps claiming at once exactly one wins and the other gets :class:`AlreadyClaimed`.
The daily cap is a guarded counter update, which also serialises one rep's own claims.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field
from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from crm.access import get_visible, scope
from crm.actors import require_manager
from crm.config_audit import audit_config
from crm.customer_service import editable_customer, visible_customer
from crm.customers import Customer
from crm.errors import Conflict, DomainError, Forbidden, NotFound
from crm.org import Role, User
from crm.ownership import Handover, OwnershipChange, OwnershipReason, hand_over, record_handovers
from crm.pool import CustomerPool, PoolClaimCounter, default_pool, pool_of
from crm.schemas import Input, View

DEFAULT_ZONE = "Asia/Shanghai"


class AlreadyClaimed(Conflict):
    """Someone else owns the customer (possibly since a moment ago)."""


class PoolRuleRefused(Conflict):
    """A pool rule (cap, capacity, cool-down, role) refuses the claim."""


class PoolRules(Input):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    reclaim_no_followup_days: int | None = Field(default=None, ge=1, le=3650)
    reclaim_no_deal_days: int | None = Field(default=None, ge=1, le=3650)
    warn_days_before: int | None = Field(default=None, ge=0, le=365)
    daily_claim_cap: int | None = Field(default=None, ge=0, le=10000)
    holding_capacity: int | None = Field(default=None, ge=0, le=1_000_000)
    cooldown_days: int | None = Field(default=None, ge=0, le=3650)
    claim_roles: list[Role] | None = None


class PoolView(View):
    id: int
    division_id: int
    name: str
    is_default: bool
    reclaim_no_followup_days: int | None
    reclaim_no_deal_days: int | None
    warn_days_before: int
    daily_claim_cap: int | None
    holding_capacity: int | None
    cooldown_days: int
    claim_roles: list[str]


def local_day(now: datetime, zone: str) -> date:
    return now.astimezone(ZoneInfo(zone)).date()


def _take_daily_slot(session: Session, user_id: int, day: date, cap: int) -> bool:
    try:
        with session.begin_nested():
            session.add(PoolClaimCounter(user_id=user_id, day=day, count=0))
    except IntegrityError:
        pass  # today's row exists already
    result = session.execute(
        update(PoolClaimCounter)
        .where(PoolClaimCounter.user_id == user_id, PoolClaimCounter.day == day, PoolClaimCounter.count < cap)
        .values(count=PoolClaimCounter.count + 1)
    )
    return result.rowcount == 1


def holding(session: Session, user_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).where(Customer.owner_id == user_id, Customer.merged_into_id.is_(None))
        )
        or 0
    )


def _cooldown_until(
    session: Session, actor: User, customer_id: int, pool: CustomerPool, now: datetime
) -> datetime | None:
    if pool.cooldown_days <= 0:
        return None
    last_left = session.scalar(
        select(func.max(OwnershipChange.occurred_at)).where(
            OwnershipChange.customer_id == customer_id,
            OwnershipChange.from_user_id == actor.id,
            OwnershipChange.to_user_id.is_(None),
        )
    )
    if last_left is None:
        return None
    until = last_left + timedelta(days=pool.cooldown_days)
    return until if until > now else None


def claim(
    session: Session, *, actor: User, customer_id: int, now: datetime, zone: str = DEFAULT_ZONE
) -> Customer:
    """Take a customer from the pool; refused by the pool's rules or when someone was faster."""
    customer = get_visible(session, actor, Customer, customer_id)
    if customer is None:
        # a rep loses sight of a pool customer the moment another rep claims it
        taken = session.get(Customer, customer_id)
        if taken is not None and taken.division_id == actor.division_id and taken.owner_id is not None:
            raise AlreadyClaimed(
                "another rep owns this customer", field="customer_id", code="pool.claim.taken"
            )
    if customer is None or customer.merged_into_id is not None:
        raise NotFound("no such customer", field="customer_id", code="customer.not_found")
    if customer.owner_id is not None:
        mine = customer.owner_id == actor.id
        raise AlreadyClaimed(
            "the customer is yours already" if mine else "another rep owns this customer",
            field="customer_id",
            code="pool.claim.mine" if mine else "pool.claim.taken",
        )
    pool = pool_of(session, customer.division_id, customer.pool_id)
    if str(actor.role) not in pool.claim_roles:
        raise Forbidden(
            f"your role may not claim from the pool {pool.name}",
            field="customer_id",
            code="pool.claim.role",
            params={"pool": pool.name},
        )
    if (until := _cooldown_until(session, actor, customer_id, pool, now)) is not None:
        until_text = f"{until.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M}"
        raise PoolRuleRefused(
            f"you gave this customer up recently; you may claim it again after {until_text}",
            field="customer_id",
            code="pool.claim.cooldown",
            params={"until": until_text},
        )
    if pool.daily_claim_cap is not None and not _take_daily_slot(
        session, actor.id, local_day(now, zone), pool.daily_claim_cap
    ):  # type: ignore[arg-type]
        session.rollback()
        raise PoolRuleRefused(
            f"daily claim limit reached ({pool.daily_claim_cap} a day)",
            field="customer_id",
            code="pool.claim.daily_cap",
            params={"cap": pool.daily_claim_cap},
        )
    taken = session.execute(
        update(Customer)
        .where(Customer.id == customer_id, Customer.owner_id.is_(None), Customer.merged_into_id.is_(None))
        .values(owner_id=actor.id, owned_since=now, released_at=None, reclaim_warned_at=None, updated_at=now)
    )
    if taken.rowcount != 1:
        session.rollback()
        raise AlreadyClaimed(
            "another rep claimed this customer a moment ago", field="customer_id", code="pool.claim.raced"
        )
    if pool.holding_capacity is not None and holding(session, actor.id) > pool.holding_capacity:  # type: ignore[arg-type]
        session.rollback()
        raise PoolRuleRefused(
            f"you hold the maximum of {pool.holding_capacity} customers",
            field="customer_id",
            code="pool.claim.capacity",
            params={"capacity": pool.holding_capacity},
        )
    record_handovers(
        session,
        [Handover(customer_id, customer.division_id, None, actor.id)],
        reason=OwnershipReason.claimed,
        actor_user_id=actor.id,
        now=now,
    )
    session.commit()
    session.refresh(customer)
    return customer


def release(session: Session, *, actor: User, customer_ids: list[int], note: str, now: datetime) -> int:
    """Put customers back into the pool (their owner, or a manager); a reason is required."""
    if not note.strip():
        raise DomainError(
            "say why the customers go back to the pool", field="note", code="pool.release.note_required"
        )
    customers = [editable_customer(session, actor, cid) for cid in dict.fromkeys(customer_ids)]
    if any(c.owner_id is None for c in customers):
        raise DomainError(
            "a customer is in the pool already", field="customer_ids", code="pool.release.already_in_pool"
        )
    handovers = [Handover(c.id, c.division_id, c.owner_id, None) for c in customers]  # type: ignore[arg-type]
    count = hand_over(
        session, handovers, reason=OwnershipReason.released, actor_user_id=actor.id, now=now, note=note
    )
    session.commit()
    return count


def assign(
    session: Session, *, actor: User, customer_ids: list[int], to_user_id: int, now: datetime, note: str = ""
) -> int:
    """Managers hand customers (from the pool or from another rep) to a user of the division."""
    customers = [visible_customer(session, actor, cid) for cid in dict.fromkeys(customer_ids)]
    target = session.get(User, to_user_id)
    for customer in customers:
        require_manager(actor, customer.division_id)
        if (
            target is None
            or target.division_id != customer.division_id
            or not target.is_active
            or target.frozen_at
        ):
            raise DomainError(
                "assign to an active user of the customer's division",
                field="to_user_id",
                code="pool.assign.target_invalid",
            )
    handovers = [
        Handover(c.id, c.division_id, c.owner_id, to_user_id)
        for c in customers
        if c.owner_id != to_user_id  # type: ignore[arg-type]
    ]
    count = hand_over(
        session, handovers, reason=OwnershipReason.assigned, actor_user_id=actor.id, now=now, note=note
    )
    session.commit()
    return count


# --- pools and their rules ----------------------------------------------------------------------


def list_pools(session: Session, *, actor: User) -> list[PoolView]:
    if actor.division_id is not None:
        default_pool(session, actor.division_id)
        session.commit()
    rows = session.exec(
        scope(select(CustomerPool), actor, CustomerPool).order_by(CustomerPool.division_id, CustomerPool.id)
    )
    return [PoolView.model_validate(p) for p in rows]


def _apply_rules(pool: CustomerPool, rules: PoolRules) -> None:
    for key, value in rules.model_dump(exclude_unset=True).items():
        if key in ("warn_days_before", "cooldown_days", "name", "claim_roles") and value is None:
            raise DomainError(f"{key} cannot be empty", field=key, code="field.empty", params={"field": key})
        setattr(pool, key, [str(r) for r in value] if key == "claim_roles" else value)


def _save(session: Session, pool: CustomerPool) -> None:
    session.add(pool)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict("a pool with this name exists", field="name", code="pool.name_taken") from exc


def _audit_pool(
    session: Session, actor: User, pool: CustomerPool, action: str, before: dict[str, Any] | None, ip: str
) -> None:
    after = PoolView.model_validate(pool).model_dump(mode="json", exclude={"id", "division_id"})
    audit_config(
        session,
        actor=actor,
        action=action,
        target_type="customer_pool",
        target_id=pool.id,  # type: ignore[arg-type]
        division_id=pool.division_id,
        detail={"before": before, "after": after},
        ip=ip,
    )


def create_pool(
    session: Session, *, actor: User, division_id: int, rules: PoolRules, now: datetime, ip: str = ""
) -> PoolView:
    require_manager(actor, division_id)
    if not rules.name:
        raise DomainError("name the pool", field="name", code="pool.name_required")
    default_pool(session, division_id)
    pool = CustomerPool(division_id=division_id, name=rules.name, created_at=now, updated_at=now)
    _apply_rules(pool, rules)
    _save(session, pool)
    _audit_pool(session, actor, pool, "pool.create", None, ip)
    session.commit()
    return PoolView.model_validate(pool)


def update_pool(
    session: Session, *, actor: User, pool_id: int, rules: PoolRules, now: datetime, ip: str = ""
) -> PoolView:
    pool = get_visible(session, actor, CustomerPool, pool_id)
    if pool is None:
        raise NotFound("no such pool", field="pool_id", code="pool.not_found")
    require_manager(actor, pool.division_id)
    before = PoolView.model_validate(pool).model_dump(mode="json", exclude={"id", "division_id"})
    _apply_rules(pool, rules)
    pool.updated_at = now
    _save(session, pool)
    _audit_pool(session, actor, pool, "pool.update", before, ip)
    session.commit()
    return PoolView.model_validate(pool)


def move_to_pool(session: Session, *, actor: User, customer_ids: list[int], pool_id: int) -> int:
    """Say which pool customers return to (managers)."""
    pool = get_visible(session, actor, CustomerPool, pool_id)
    if pool is None:
        raise NotFound("no such pool", field="pool_id", code="pool.not_found")
    require_manager(actor, pool.division_id)
    customers = [visible_customer(session, actor, cid) for cid in customer_ids]
    if any(c.division_id != pool.division_id for c in customers):
        raise DomainError("the pool belongs to another division", field="pool_id", code="pool.other_division")
    for customer in customers:
        customer.pool_id = pool_id
        session.add(customer)
    session.commit()
    return len(customers)
