"""The customer timeline projection: one row per thing that happened with a customer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, Session, SQLModel

from crm.types import UTCDateTime, utcnow


class TimelineEvent(SQLModel, table=True):
    """Written in the same transaction as its detail row (``source_table``/``source_id``)."""

    __tablename__ = "timeline_event"
    __table_args__ = (
        Index("ix_timeline_event_customer_time", "customer_id", "occurred_at", "id"),
        Index("ix_timeline_event_source", "source_table", "source_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id")
    division_id: int = Field(foreign_key="division.id", index=True)
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    kind: str = Field(max_length=32)
    source_table: str = Field(max_length=64)
    source_id: int
    actor_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    summary: str = Field(default="", max_length=500)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


def add_timeline_event(
    session: Session,
    *,
    customer_id: int,
    division_id: int,
    occurred_at: datetime,
    kind: str,
    source_table: str,
    source_id: int,
    summary: str = "",
    actor_user_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> TimelineEvent:
    event = TimelineEvent(
        customer_id=customer_id,
        division_id=division_id,
        occurred_at=occurred_at,
        kind=kind,
        source_table=source_table,
        source_id=source_id,
        summary=summary[:500],
        actor_user_id=actor_user_id,
        data=data or {},
    )
    session.add(event)
    return event
