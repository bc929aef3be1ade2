"""Monthly targets per rep or division (revenue, visits, calls, new customers), progress,
and leaderboards computed from captured activity and deals."""

from __future__ import annotations

from datetime import MAXYEAR, date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field
from sqlalchemy import String
from sqlmodel import Field as SQLField
from sqlmodel import Session, SQLModel, select

from crm.access import scope
from crm.activity_stats import METRICS, RepStats, ranking_viewer, rep_stats
from crm.actors import require_manager
from crm.config_audit import audit_config
from crm.errors import DomainError
from crm.money import MONEY, money
from crm.org import User
from crm.rows import column_rows
from crm.schemas import Input, View
from crm.types import UTCDateTime


class TargetMetric(StrEnum):
    revenue = "revenue"
    visits = "visits"
    calls = "calls"
    new_customers = "new_customers"


class Target(SQLModel, table=True):
    """``user_id`` NULL: the division's own target."""

    __tablename__ = "sales_target"
    __owner_column__ = "user_id"

    id: int | None = SQLField(default=None, primary_key=True)
    division_id: int = SQLField(foreign_key="division.id", index=True)
    user_id: int | None = SQLField(default=None, foreign_key="app_user.id", index=True)
    month: date = SQLField(index=True, description="First day of the month.")
    metric: TargetMetric = SQLField(sa_type=String(16))
    value: Decimal = SQLField(sa_type=MONEY)
    set_by_user_id: int | None = SQLField(default=None, foreign_key="app_user.id")
    updated_at: datetime = SQLField(sa_type=UTCDateTime)


class TargetIn(Input):
    division_id: int
    user_id: int | None = None
    month: date
    metric: TargetMetric
    value: Decimal = Field(ge=0, max_digits=14, decimal_places=2)


class ProgressRow(View):
    user_id: int | None
    metric: TargetMetric
    target: Decimal
    actual: Decimal
    ratio: float | None


class LeaderRow(View):
    rank: int
    user_id: int
    name: str
    calls: int
    talk_time_s: int
    sms: int
    visits: int
    new_customers: int
    deals_won: int
    won_amount: Decimal
    revenue: Decimal


def month_bounds(month: date, zone: str) -> tuple[datetime, datetime]:
    tz = ZoneInfo(zone)
    first = month.replace(day=1)
    if (first.year, first.month) == (MAXYEAR, 12):
        raise OverflowError("no month follows December 9999")
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return datetime.combine(first, time(0), tz), datetime.combine(following, time(0), tz)


def set_target(session: Session, *, actor: User, data: TargetIn, now: datetime) -> Target:
    require_manager(actor, data.division_id)
    if data.user_id is not None:
        user = session.get(User, data.user_id)
        if user is None or user.division_id != data.division_id:
            raise DomainError(
                "the user is not in this division", field="user_id", code="target.user_other_division"
            )
    month = data.month.replace(day=1)
    target = session.exec(
        select(Target).where(
            Target.division_id == data.division_id,
            Target.user_id.is_(None) if data.user_id is None else Target.user_id == data.user_id,
            Target.month == month,
            Target.metric == data.metric,
        )
    ).first() or Target(
        division_id=data.division_id, user_id=data.user_id, month=month, metric=data.metric, value=0
    )
    previous = str(target.value) if target.id is not None else None
    target.value, target.set_by_user_id, target.updated_at = money(data.value), actor.id, now
    session.add(target)
    session.flush()
    audit_config(
        session,
        actor=actor,
        action="target.set",
        target_type="target",
        target_id=target.id,
        division_id=data.division_id,
        detail={
            "month": month.isoformat(),
            "metric": str(data.metric),
            "user_id": data.user_id,
            "from": previous,
            "to": str(target.value),
        },
    )
    session.commit()
    return target


def _actual(stats: RepStats | None, metric: TargetMetric) -> Decimal:
    return Decimal(getattr(stats, metric)) if stats is not None else Decimal(0)


def target_progress(
    session: Session, *, actor: User, month: date, zone: str = "Asia/Shanghai"
) -> list[ProgressRow]:
    """Each visible target of the month with what was achieved (division targets: the sum of its
    reps, also when a rep looks at them)."""
    start, end = month_bounds(month, zone)
    stats = rep_stats(session, actor=actor, start=start, end=end, zone=zone)
    viewer = ranking_viewer(actor)
    division_stats = (
        stats if viewer is actor else rep_stats(session, actor=viewer, start=start, end=end, zone=zone)
    )
    targets = session.exec(
        scope(select(Target), actor, Target)
        .where(Target.month == month.replace(day=1))
        .order_by(Target.user_id, Target.metric)
    ).all()
    rows = []
    for target in targets:
        if target.user_id is not None:
            actual = _actual(stats.get(target.user_id), target.metric)
        else:
            members = set(session.scalars(select(User.id).where(User.division_id == target.division_id)))
            actual = sum(
                (_actual(s, target.metric) for uid, s in division_stats.items() if uid in members), Decimal(0)
            )
        rows.append(
            ProgressRow(
                user_id=target.user_id,
                metric=target.metric,
                target=target.value,
                actual=money(actual),
                ratio=float(actual / target.value) if target.value else None,
            )
        )
    return rows


def ranking(
    session: Session,
    *,
    actor: User,
    start: datetime,
    end: datetime,
    sort: str = "revenue",
    zone: str = "Asia/Shanghai",
) -> list[dict[str, Any]]:
    """Reps ranked by ``sort`` over a period, as plain rows (the fields of :class:`LeaderRow`):
    a rep sees the ranking of their division (names and totals only), managers their division,
    executives every division."""
    if sort not in METRICS:
        raise DomainError(
            f"sort must be one of {', '.join(METRICS)}",
            field="sort",
            code="leaderboard.unknown_sort",
            params={"allowed": ", ".join(METRICS)},
        )
    viewer = ranking_viewer(actor)
    stats = rep_stats(session, actor=viewer, start=start, end=end, zone=zone)
    # Columns, not User objects, of the users the ranking's viewer sees (every ranked rep is one):
    # a leaderboard may have thousands of reps, too many to list their ids in the statement.
    names = {
        uid: display or username
        for uid, display, username in column_rows(
            session, scope(select(User.id, User.display_name, User.username), viewer, User)
        )
        if uid in stats
    }
    ordered = sorted(stats.values(), key=lambda s: (-getattr(s, sort), s.user_id))
    return [
        {"rank": i + 1, "name": names.get(s.user_id, ""), **{k: getattr(s, k) for k in ("user_id", *METRICS)}}
        for i, s in enumerate(ordered)
    ]


def leaderboard(session: Session, **query: Any) -> list[LeaderRow]:
    """:func:`ranking` (same keyword arguments) as :class:`LeaderRow` views."""
    return [LeaderRow.model_construct(**row) for row in ranking(session, **query)]  # typed already (RepStats)
