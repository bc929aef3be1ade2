"""Retention of raw location data: fixes (and discard counts) older than the configured days go."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlmodel import Session

from crm.devices import Device
from crm.locations import LocationDiscard, LocationFix
from server.config import Settings, get_settings


def purge_fixes(session: Session, *, settings: Settings, now: datetime) -> int:
    """Delete fixes older than ``location_retention_days``, one device (one short transaction) at a time,
    so the (device, time) index does the work and writers are never blocked for long."""
    cutoff = now - timedelta(days=settings.location_retention_days)
    deleted = 0
    for device_id in session.execute(select(Device.id).order_by(Device.id)).scalars().all():
        result = session.execute(delete(LocationFix).where(LocationFix.device_id == device_id, LocationFix.time < cutoff))
        session.commit()
        deleted += result.rowcount or 0
    cutoff_day = cutoff.astimezone(ZoneInfo(settings.time_zone)).date()
    session.execute(delete(LocationDiscard).where(LocationDiscard.day < cutoff_day))
    session.commit()
    return deleted


def purge_old_fixes(session: Session, now: datetime) -> int:
    """Scheduled job: raw-track retention."""
    return purge_fixes(session, settings=get_settings(), now=now)
