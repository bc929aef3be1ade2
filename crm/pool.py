"""Public pools (公海) and their rules, stored as data (one default pool per division, more allowed)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, select

from crm.org import Role
from crm.types import UTCDateTime, utcnow

DEFAULT_CLAIM_ROLES = [Role.rep.value, Role.division_head.value, Role.division_admin.value]


class CustomerPool(SQLModel, table=True):
    """A pool and its rules; a NULL rule is switched off.

    Reclaim after ``reclaim_no_followup_days`` without follow-up or ``reclaim_no_deal_days``
    without a deal (both counted from when the owner got the customer at the earliest),
    warned ``warn_days_before`` ahead; a rep claims at most ``daily_claim_cap`` a day and
    holds at most ``holding_capacity``; a previous owner waits ``cooldown_days``.
    ``claim_roles`` says which roles may claim from this pool.
    """

    __tablename__ = "customer_pool"
    __table_args__ = (UniqueConstraint("division_id", "name", name="uq_customer_pool_division_name"),)

    id: int | None = Field(default=None, primary_key=True)
    division_id: int = Field(foreign_key="division.id", index=True)
    name: str = Field(max_length=100)
    is_default: bool = False
    reclaim_no_followup_days: int | None = 30
    reclaim_no_deal_days: int | None = 90
    warn_days_before: int = 3
    daily_claim_cap: int | None = 10
    holding_capacity: int | None = 200
    cooldown_days: int = 7
    claim_roles: list[str] = Field(
        default_factory=lambda: list(DEFAULT_CLAIM_ROLES), sa_column=Column(JSON, nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PoolClaimCounter(SQLModel, table=True):
    """Claims per rep and local day; incremented with a guarded UPDATE so the cap holds under races."""

    __tablename__ = "pool_claim_counter"
    __table_args__ = (
        UniqueConstraint("user_id", "day", name="uq_pool_claim_counter_user_day"),
        Index("ix_pool_claim_counter_day", "day"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id")
    day: date
    count: int = 0


def default_pool(session: Session, division_id: int) -> CustomerPool:
    """The division's default pool, created with the default rules on first use."""
    pool = session.exec(
        select(CustomerPool).where(CustomerPool.division_id == division_id, CustomerPool.is_default)
    ).first()
    if pool is None:
        pool = CustomerPool(division_id=division_id, name="公海", is_default=True)
        session.add(pool)
        session.flush()
    return pool


def pool_of(session: Session, division_id: int, pool_id: int | None) -> CustomerPool:
    pool = session.get(CustomerPool, pool_id) if pool_id is not None else None
    if pool is None or pool.division_id != division_id:
        return default_pool(session, division_id)
    return pool
