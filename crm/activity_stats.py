"""Counting what reps did in a period, from captured calls/SMS, the timeline (visits,
check-ins), deals and payments — always through the access scope."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlmodel import Session

from crm.access import scope
from crm.activity_rollup import VISIT_KINDS, DaySpan, Totals, finished_days, roll_up, rolled_totals
from crm.communications import CapturedCall, CapturedSms
from crm.customers import Customer
from crm.money import ZERO, money, money_sum
from crm.org import Role, User
from crm.pipeline import Opportunity, OpportunityStatus
from crm.rows import column_rows
from crm.sales_docs import Payment
from crm.timeline import TimelineEvent
from crm.types import utcnow

METRICS = ("calls", "talk_time_s", "sms", "visits", "new_customers", "deals_won", "won_amount", "revenue")


@dataclass
class RepStats:
    user_id: int
    calls: int = 0
    talk_time_s: int = 0
    sms: int = 0
    visits: int = 0
    new_customers: int = 0
    deals_won: int = 0
    won_amount: Decimal = ZERO
    revenue: Decimal = ZERO


def ranking_viewer(actor: User) -> User:
    """Whom a leaderboard's totals are counted for. A rep's leaderboard ranks their whole
    division, so its totals are counted through the scope their division head has; only the
    totals per rep leave this module (names and numbers, never the rows). Others count what
    they see themselves. The returned user is never added to a session."""
    if Role(actor.role) is not Role.rep:
        return actor
    return User(
        id=actor.id,
        username=actor.username,
        password_hash="",
        role=Role.division_head,
        division_id=actor.division_id,
        is_active=actor.is_active,
        frozen_at=actor.frozen_at,
    )


# Roles whose scope over activity is whole divisions: their totals come from the daily rollup.
ROLLED_UP_ROLES = (Role.executive, Role.division_head, Role.division_admin)


def _uncovered(start: datetime, end: datetime, covered: list[DaySpan]) -> list[tuple[datetime, datetime]]:
    """The parts of [start, end) outside the ``covered`` days (in order)."""
    out, at = [], start
    for span in covered:
        if span.start > at:
            out.append((at, span.start))
        at = span.end
    if at < end:
        out.append((at, end))
    return out


def _live_activity(
    session: Session, actor: User, start: datetime, end: datetime, tz: ZoneInfo
) -> tuple[dict[int | None, Totals], dict[int, set[tuple[int, date]]]]:
    """Calls, talk time and SMS per rep counted from the rows of [start, end), and each rep's
    visited (customer, local day) pairs."""
    totals: dict[int | None, Totals] = defaultdict(Totals)
    calls = (
        scope(
            select(
                CapturedCall.rep_user_id, func.count(), func.coalesce(func.sum(CapturedCall.duration_s), 0)
            ),
            actor,
            CapturedCall,
        )
        .where(CapturedCall.occurred_at >= start, CapturedCall.occurred_at < end)
        .group_by(CapturedCall.rep_user_id)
    )
    for user_id, count, seconds in column_rows(session, calls):
        totals[user_id].calls, totals[user_id].talk_time_s = count, int(seconds)
    sms = (
        scope(select(CapturedSms.rep_user_id, func.count()), actor, CapturedSms)
        .where(CapturedSms.occurred_at >= start, CapturedSms.occurred_at < end)
        .group_by(CapturedSms.rep_user_id)
    )
    for user_id, count in column_rows(session, sms):
        totals[user_id].sms = count
    visits = scope(
        select(TimelineEvent.actor_user_id, TimelineEvent.customer_id, TimelineEvent.occurred_at),
        actor,
        TimelineEvent,
    ).where(
        TimelineEvent.kind.in_(VISIT_KINDS),
        TimelineEvent.occurred_at >= start,
        TimelineEvent.occurred_at < end,
    )
    seen: dict[int, set[tuple[int, date]]] = defaultdict(set)
    for user_id, customer_id, at in column_rows(session, visits):
        if user_id is not None:
            seen[user_id].add((customer_id, at.astimezone(tz).date()))
    return totals, seen


def rep_stats(
    session: Session, *, actor: User, start: datetime, end: datetime, zone: str = "Asia/Shanghai"
) -> dict[int, RepStats]:
    """Per rep (owner of the rows): calls and talk time, SMS, visits (distinct customer-days of
    visit/check-in events), customers created, deals won and their amount, payments received.
    Only users the actor may see are counted (a rep: themselves).

    For whole divisions, the finished days of the period are read from the daily rollup
    (:mod:`crm.activity_rollup`, rolled up here when missing or changed) and the rest is counted
    from the rows; a rep's own figures are always counted from the rows (what a rep sees of
    visits depends on which customers are theirs now)."""
    stats: dict[int, RepStats] = {}
    visible = {user_id for (user_id,) in column_rows(session, scope(select(User.id), actor, User))}

    def get(user_id: int | None) -> RepStats | None:
        if user_id is None or user_id not in visible:
            return None
        return stats.setdefault(user_id, RepStats(user_id))

    tz = ZoneInfo(zone)
    days = finished_days(start, end, zone, utcnow()) if Role(actor.role) in ROLLED_UP_ROLES else []
    roll_up(session, zone, days)
    rolled, covered = rolled_totals(session, actor, zone, days)
    visit_days: dict[int, int] = defaultdict(int)
    for user_id, totals in rolled.items():
        if (row := get(user_id)) is not None:
            row.calls, row.talk_time_s, row.sms = totals.calls, totals.talk_time_s, totals.sms
            visit_days[user_id] += totals.visits
    for begin, finish in _uncovered(start, end, [d for d in days if d.day in covered]):
        live, seen = _live_activity(session, actor, begin, finish, tz)
        for user_id, totals in live.items():
            if (row := get(user_id)) is not None:
                row.calls += totals.calls
                row.talk_time_s += totals.talk_time_s
                row.sms += totals.sms
        for user_id, pairs in seen.items():
            visit_days[user_id] += len(pairs)
    for user_id, count in visit_days.items():
        if (row := get(user_id)) is not None:
            row.visits = count
    created = (
        scope(select(Customer.created_by_user_id, func.count()), actor, Customer)
        .where(Customer.created_at >= start, Customer.created_at < end, Customer.merged_into_id.is_(None))
        .group_by(Customer.created_by_user_id)
    )
    for user_id, count in column_rows(session, created):
        if (row := get(user_id)) is not None:
            row.new_customers = count
    won = (
        scope(select(Opportunity.owner_id, func.count(), money_sum(Opportunity.amount)), actor, Opportunity)
        .where(
            Opportunity.status == OpportunityStatus.won,
            Opportunity.closed_at >= start,
            Opportunity.closed_at < end,
        )
        .group_by(Opportunity.owner_id)
    )
    for user_id, count, amount in column_rows(session, won):
        if (row := get(user_id)) is not None:
            row.deals_won, row.won_amount = count, money(amount)
    start_day, end_day = start.astimezone(tz).date(), end.astimezone(tz).date()
    paid = (
        scope(select(Payment.owner_id, money_sum(Payment.amount)), actor, Payment)
        .where(Payment.received_on >= start_day, Payment.received_on < end_day)
        .group_by(Payment.owner_id)
    )
    for user_id, amount in column_rows(session, paid):
        if (row := get(user_id)) is not None:
            row.revenue = money(amount)
    return stats
