"""Scheduled pool jobs: reclaim customers whose owner let them lapse, and warn the owner beforehand.

"Follow-up" is the customer's ``last_activity_at`` or any follow-up event on its timeline
(captured call/SMS, visit, check-in, note, completed activity); "deal" is ``last_deal_at``.
Both periods start no earlier than ``owned_since``, so a fresh claim gets the full period.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, or_, select, update
from sqlmodel import Session

from crm.customers import Customer
from crm.notifications import notify
from crm.ownership import OwnershipReason, release_matching
from crm.pool import CustomerPool
from crm.timeline import TimelineEvent

FOLLOWUP_KINDS = ("call", "sms", "recording", "visit", "checkin", "note", "activity")
_DIGEST_NAMES = 20


def _in_pool_scope(pool: CustomerPool) -> ColumnElement[bool]:
    mine = Customer.pool_id == pool.id
    if pool.is_default:
        mine = or_(mine, Customer.pool_id.is_(None))
    return and_(
        Customer.division_id == pool.division_id,
        mine,
        Customer.owner_id.is_not(None),
        Customer.merged_into_id.is_(None),
    )


def no_followup_since(cutoff: datetime) -> ColumnElement[bool]:
    recent = exists().where(
        TimelineEvent.customer_id == Customer.id,
        TimelineEvent.occurred_at > cutoff,
        TimelineEvent.kind.in_(FOLLOWUP_KINDS),
    )
    return and_(
        Customer.owned_since <= cutoff,
        or_(Customer.last_activity_at.is_(None), Customer.last_activity_at <= cutoff),
        ~recent,
    )


def no_deal_since(cutoff: datetime) -> ColumnElement[bool]:
    return and_(
        Customer.owned_since <= cutoff, or_(Customer.last_deal_at.is_(None), Customer.last_deal_at <= cutoff)
    )


def _rules(pool: CustomerPool, now: datetime) -> list[tuple[OwnershipReason, ColumnElement[bool], int]]:
    rules = []
    if pool.reclaim_no_followup_days:
        cutoff = now - timedelta(days=pool.reclaim_no_followup_days)
        rules.append(
            (OwnershipReason.reclaimed_no_followup, no_followup_since(cutoff), pool.reclaim_no_followup_days)
        )
    if pool.reclaim_no_deal_days:
        cutoff = now - timedelta(days=pool.reclaim_no_deal_days)
        rules.append((OwnershipReason.reclaimed_no_deal, no_deal_since(cutoff), pool.reclaim_no_deal_days))
    return rules


def reclaim_pool(session: Session, now: datetime) -> int:
    """Move lapsed customers back into their pool; tell each former owner once per run."""
    total = 0
    for pool in session.scalars(select(CustomerPool)).all():
        lost: dict[int, int] = defaultdict(int)
        for reason, predicate, days in _rules(pool, now):
            for owner, count in release_matching(
                session, _in_pool_scope(pool) & predicate, reason=reason, now=now, note=f"{days} 天"
            ).items():
                lost[owner] += count
                total += count
        for owner, count in lost.items():
            notify(
                session,
                user_id=owner,
                division_id=pool.division_id,
                kind="pool.reclaimed",
                title=f"{count} 个客户已被收回{pool.name}",
                now=now,
                data={"count": count, "pool_id": pool.id},
            )
        session.commit()
    return total


def warn_pool_reclaim(session: Session, now: datetime) -> int:
    """Tell owners which customers a rule will reclaim within ``warn_days_before`` days."""
    warned = 0
    for pool in session.scalars(select(CustomerPool).where(CustomerPool.warn_days_before > 0)).all():
        ahead = now + timedelta(days=pool.warn_days_before)
        not_recently_warned = or_(
            Customer.reclaim_warned_at.is_(None),
            Customer.reclaim_warned_at < now - timedelta(days=pool.warn_days_before),
        )
        due: dict[int, dict[int, str]] = defaultdict(dict)
        for _reason, predicate, _days in _rules(pool, ahead):
            for cid, owner, name in session.execute(
                select(Customer.id, Customer.owner_id, Customer.name).where(
                    _in_pool_scope(pool), predicate, not_recently_warned
                )
            ):
                due[owner][cid] = name
        for owner, customers in due.items():
            names = list(customers.values())
            listed = "、".join(names[:_DIGEST_NAMES]) + (" 等" if len(names) > _DIGEST_NAMES else "")
            notify(
                session,
                user_id=owner,
                division_id=pool.division_id,
                kind="pool.reclaim_warning",
                title=f"{len(names)} 个客户将在 {pool.warn_days_before} 天内被收回{pool.name}",
                body=f"请尽快跟进或成交: {listed}",
                now=now,
                data={"customer_ids": sorted(customers)[:1000], "pool_id": pool.id},
            )
            ids = list(customers)
            for i in range(0, len(ids), 500):
                session.execute(
                    update(Customer).where(Customer.id.in_(ids[i : i + 500])).values(reclaim_warned_at=now)
                )
            warned += len(ids)
        session.commit()
    return warned
