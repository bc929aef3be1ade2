from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from crm.org import Role
from crm.types import utcnow
from server.auth.models import AuthToken, TokenKind
from server.auth.service import issue_user_token
from server.jobs import JOBS, purge_expired_tokens
from server.scheduler import run_job
from server.scheduler_lease import acquire_lease
from tests.factories import Factory


def test_only_one_scheduler_holds_the_lease(session: Session):
    now = utcnow()
    ttl = timedelta(seconds=90)
    assert acquire_lease(session, holder="a", now=now, ttl=ttl)
    assert not acquire_lease(session, holder="b", now=now + timedelta(seconds=10), ttl=ttl)
    assert acquire_lease(session, holder="a", now=now + timedelta(seconds=60), ttl=ttl)
    # a crashed holder's lease runs out and another scheduler takes over
    assert acquire_lease(session, holder="b", now=now + timedelta(seconds=200), ttl=ttl)
    assert not acquire_lease(session, holder="a", now=now + timedelta(seconds=210), ttl=ttl)


def test_purge_expired_tokens_with_fixed_now(session: Session, factory: Factory):
    user = factory.user(Role.rep)
    now = utcnow()
    issue_user_token(
        session, user=user, kind=TokenKind.api, lifetime=timedelta(hours=1), now=now - timedelta(days=3)
    )
    keep = issue_user_token(session, user=user, kind=TokenKind.api, lifetime=timedelta(days=1), now=now)
    assert purge_expired_tokens(session, now) == 1
    assert [t.id for t in session.exec(select(AuthToken))] == [keep.token.id]


def test_run_job_skips_when_another_scheduler_is_active(db, session: Session):
    job = next(j for j in JOBS if j.name == "purge_expired_tokens")
    assert acquire_lease(session, holder="other", now=utcnow(), ttl=timedelta(minutes=5))
    assert run_job(db, job, "me") is None
    assert run_job(db, job, "other") == 0
