"""The registry of scheduled jobs. A job is a plain function ``(session, now) -> int`` (rows affected).

Tests call the functions directly with a fixed ``now``; the ``fieldcrm scheduler`` process runs them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session

from crm.activity_rollup import roll_up_recent_days
from crm.campaigns import link_campaign_responses
from crm.daily_reports import draft_daily_reports
from crm.followups import remind_followups
from crm.pool_jobs import reclaim_pool, warn_pool_reclaim
from crm.tickets import escalate_tickets, plan_strategy_visits
from server.auth.models import AuthToken
from server.config import get_settings
from server.ingest.staff import staff_numbers_job
from server.ingest.transcription import transcribe_pending
from server.locations.geocoding import geocode_customers
from server.locations.retention import purge_old_fixes

JobFunc = Callable[[Session, datetime], int]


@dataclass(frozen=True)
class Job:
    name: str
    func: JobFunc
    every: timedelta


def purge_expired_tokens(session: Session, now: datetime) -> int:
    """Delete sign-in tokens that expired or were revoked more than a day ago."""
    cutoff = now - timedelta(days=1)
    result = session.execute(
        delete(AuthToken).where((AuthToken.expires_at < cutoff) | (AuthToken.revoked_at < cutoff))
    )
    session.commit()
    return result.rowcount or 0


JOBS: list[Job] = [
    Job("purge_expired_tokens", purge_expired_tokens, timedelta(hours=1)),
    Job("transcribe_recordings", transcribe_pending, timedelta(minutes=1)),
    Job("capture.staff_numbers", staff_numbers_job, timedelta(minutes=5)),
    Job("locations.geocode_customers", geocode_customers, timedelta(minutes=10)),
    Job("locations.purge_old_fixes", purge_old_fixes, timedelta(hours=24)),
    Job("crm.pool_reclaim", reclaim_pool, timedelta(hours=1)),
    Job("crm.pool_warn", warn_pool_reclaim, timedelta(hours=6)),
    Job("crm.followups", lambda s, n: remind_followups(s, n, days=get_settings().crm_followup_days), timedelta(hours=6)),
    Job("crm.ticket_escalation", escalate_tickets, timedelta(minutes=5)),
    Job("crm.daily_reports", lambda s, n: draft_daily_reports(s, n, zone=get_settings().time_zone), timedelta(hours=1)),
    Job("crm.campaign_responses", link_campaign_responses, timedelta(minutes=15)),
    Job("crm.strategy_visits", lambda s, n: plan_strategy_visits(s, n, zone=get_settings().time_zone), timedelta(hours=24)),
    Job("crm.activity_rollup", lambda s, n: roll_up_recent_days(s, n, get_settings().time_zone), timedelta(hours=1)),
]
