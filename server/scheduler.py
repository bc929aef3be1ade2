"""The scheduler process: runs every registered job; a DB lease keeps it to one active process."""

from __future__ import annotations

import logging
import os
import socket
from datetime import timedelta

from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import Engine
from sqlmodel import Session

from crm.types import utcnow
from server.jobs import JOBS, Job
from server.logs import get_logger, log_event
from server.scheduler_lease import acquire_lease

logger = get_logger("scheduler")
LEASE_TTL = timedelta(seconds=90)


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_job(engine: Engine, job: Job, holder: str) -> int | None:
    """Run one job if this process holds the lease; None when another scheduler is active."""
    now = utcnow()
    with Session(engine, expire_on_commit=False) as session:
        if not acquire_lease(session, holder=holder, now=now, ttl=LEASE_TTL):
            log_event(logger, "scheduler.standby", job=job.name)
            return None
        try:
            count = job.func(session, now)
        except Exception as exc:
            session.rollback()
            log_event(logger, "scheduler.job.failed", logging.ERROR, job=job.name, error=repr(exc))
            return None
    log_event(logger, "scheduler.job.done", job=job.name, count=count)
    return count


def run_forever(engine: Engine) -> None:
    holder = holder_name()
    scheduler = BlockingScheduler(timezone="UTC")
    for job in JOBS:
        scheduler.add_job(
            run_job,
            "interval",
            seconds=job.every.total_seconds(),
            args=(engine, job, holder),
            id=job.name,
            next_run_time=utcnow(),
            coalesce=True,
            max_instances=1,
        )
    log_event(logger, "scheduler.start", holder=holder, jobs=[j.name for j in JOBS])
    scheduler.start()
