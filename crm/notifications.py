"""In-app notifications: reminders, reclaim warnings, escalations. Each user sees their own."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, String, update
from sqlmodel import Field, Session, SQLModel, select

from crm.access import scope
from crm.org import Role, User
from crm.paging import Page, Sort, fetch_page
from crm.schemas import View
from crm.types import UTCDateTime


class Notification(SQLModel, table=True):
    """``dedupe_key`` makes a job that runs again not notify again."""

    __tablename__ = "notification"
    __scope__ = "org"
    __owner_column__ = "user_id"
    __table_args__ = (Index("ix_notification_user_read", "user_id", "read_at", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id")
    division_id: int | None = Field(default=None, foreign_key="division.id", index=True)
    kind: str = Field(sa_type=String(40))
    title: str = Field(max_length=200)
    body: str = Field(default="", max_length=4000)
    customer_id: int | None = Field(default=None, foreign_key="customer.id")
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    dedupe_key: str | None = Field(default=None, max_length=200, unique=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class NotificationView(View):
    id: int
    kind: str
    title: str
    body: str
    customer_id: int | None
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


def notify(
    session: Session,
    *,
    user_id: int,
    division_id: int | None,
    kind: str,
    title: str,
    now: datetime,
    body: str = "",
    customer_id: int | None = None,
    data: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
) -> bool:
    """Add a notification (the caller commits); False when one with ``dedupe_key`` exists already."""
    if (
        dedupe_key is not None
        and session.exec(select(Notification.id).where(Notification.dedupe_key == dedupe_key)).first()
    ):
        return False
    session.add(
        Notification(
            user_id=user_id,
            division_id=division_id,
            kind=kind,
            title=title[:200],
            body=body[:4000],
            customer_id=customer_id,
            data=data or {},
            dedupe_key=dedupe_key,
            created_at=now,
        )
    )
    return True


def division_heads(session: Session, division_id: int) -> list[User]:
    return list(
        session.exec(
            select(User).where(
                User.division_id == division_id,
                User.role == Role.division_head,
                User.is_active,
                User.frozen_at.is_(None),
            )
        )
    )


SORT = Sort(Notification.id, Notification.id, descending=True)


def list_notifications(
    session: Session, *, actor: User, unread_only: bool = False, cursor: str | None = None, limit: int = 50
) -> Page[NotificationView]:
    """The actor's own notifications, newest first."""
    stmt = scope(select(Notification), actor, Notification).where(Notification.user_id == actor.id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    page = fetch_page(session, stmt, SORT, cursor=cursor, limit=limit)
    return Page([NotificationView.model_validate(n) for n in page.items], page.next_cursor)


def mark_read(session: Session, *, actor: User, ids: list[int], now: datetime) -> int:
    result = session.execute(
        update(Notification)
        .where(Notification.user_id == actor.id, Notification.id.in_(ids), Notification.read_at.is_(None))
        .values(read_at=now)
    )
    session.commit()
    return result.rowcount or 0
