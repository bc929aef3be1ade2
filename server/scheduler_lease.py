"""A lease row that lets only one scheduler process run jobs at a time."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Field, Session, SQLModel

from crm.types import UTCDateTime


class SchedulerLease(SQLModel, table=True):
    __tablename__ = "scheduler_lease"

    name: str = Field(primary_key=True, max_length=32)
    holder: str = Field(max_length=128)
    expires_at: datetime = Field(sa_type=UTCDateTime)


def acquire_lease(
    session: Session, *, holder: str, now: datetime, ttl: timedelta, name: str = "main"
) -> bool:
    """Take or renew the lease; True when ``holder`` holds it afterwards. Commits."""
    expires = now + ttl
    result = session.execute(
        update(SchedulerLease)
        .where(SchedulerLease.name == name)
        .where((SchedulerLease.holder == holder) | (SchedulerLease.expires_at < now))
        .values(holder=holder, expires_at=expires)
    )
    if result.rowcount == 0 and session.get(SchedulerLease, name) is None:
        session.add(SchedulerLease(name=name, holder=holder, expires_at=expires))
        try:
            session.commit()
        except Exception:
            session.rollback()
            return False
        return True
    session.commit()
    return result.rowcount == 1
