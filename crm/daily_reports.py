"""Daily reports (日报): drafted from the day's captured calls, SMS and visits, then edited and submitted."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field
from sqlalchemy import JSON, Column, String, UniqueConstraint
from sqlmodel import Field as SQLField
from sqlmodel import Session, SQLModel, select

from crm.access import get_visible
from crm.activities import Activity, ActivityStatus
from crm.actors import is_manager
from crm.communications import CapturedCall, CapturedSms
from crm.customers import Customer
from crm.errors import Conflict, Forbidden, NotFound
from crm.org import Role, User
from crm.schemas import Input, View
from crm.timeline import TimelineEvent
from crm.types import UTCDateTime

VISIT_KINDS = ("visit", "checkin")
DRAFT_FROM_HOUR = 18
_LISTED = 10


class ReportStatus(StrEnum):
    draft = "draft"
    submitted = "submitted"


class DailyReport(SQLModel, table=True):
    __tablename__ = "daily_report"
    __owner_column__ = "user_id"
    __table_args__ = (UniqueConstraint("user_id", "day", name="uq_daily_report_user_day"),)

    id: int | None = SQLField(default=None, primary_key=True)
    division_id: int = SQLField(foreign_key="division.id", index=True)
    user_id: int = SQLField(foreign_key="app_user.id")
    day: date = SQLField(index=True)
    status: ReportStatus = SQLField(default=ReportStatus.draft, sa_type=String(10))
    content: str = SQLField(default="", max_length=10_000)
    edited: bool = False
    stats: dict[str, Any] = SQLField(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = SQLField(sa_type=UTCDateTime)
    updated_at: datetime = SQLField(sa_type=UTCDateTime)
    submitted_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)


class ReportEdit(Input):
    content: str = Field(min_length=1, max_length=10_000)


class ReportView(View):
    id: int
    user_id: int
    day: date
    status: ReportStatus
    content: str
    edited: bool
    stats: dict[str, Any]
    submitted_at: datetime | None


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(ids))).all())  # type: ignore[arg-type]


def _listing(counter: Counter[int], names: dict[int, str]) -> str:
    parts = [
        f"{names.get(cid, f'#{cid}')}" + (f"({n} 次)" if n > 1 else "")
        for cid, n in counter.most_common(_LISTED)
    ]
    return "、".join(parts) + (" 等" if len(counter) > _LISTED else "")


def day_activity(session: Session, user: User, day: date, zone: str) -> tuple[dict[str, Any], str]:
    """The day's numbers and a draft text, from what the rep's phone captured and what they logged."""
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time(0), tz)
    end = start + timedelta(days=1)
    calls = session.execute(
        select(CapturedCall.customer_id, CapturedCall.duration_s, CapturedCall.answered).where(
            CapturedCall.rep_user_id == user.id,
            CapturedCall.occurred_at >= start,
            CapturedCall.occurred_at < end,
        )
    ).all()
    sms = session.execute(
        select(CapturedSms.customer_id, CapturedSms.direction).where(
            CapturedSms.rep_user_id == user.id,
            CapturedSms.occurred_at >= start,
            CapturedSms.occurred_at < end,
        )
    ).all()
    visits = session.execute(
        select(TimelineEvent.customer_id).where(
            TimelineEvent.actor_user_id == user.id,
            TimelineEvent.kind.in_(VISIT_KINDS),
            TimelineEvent.occurred_at >= start,
            TimelineEvent.occurred_at < end,
        )
    ).all()
    done = session.exec(
        select(Activity).where(
            Activity.owner_id == user.id,
            Activity.status == ActivityStatus.done,
            Activity.done_at >= start,
            Activity.done_at < end,
        )
    ).all()
    planned = session.exec(
        select(Activity).where(
            Activity.owner_id == user.id,
            Activity.status == ActivityStatus.open,
            Activity.due_at >= end,
            Activity.due_at < end + timedelta(days=1),
        )
    ).all()
    new_customers = session.exec(
        select(Customer.id).where(
            Customer.created_by_user_id == user.id, Customer.created_at >= start, Customer.created_at < end
        )
    ).all()
    called = Counter(c for c, _d, _a in calls if c is not None)
    visited = Counter(c for (c,) in visits)
    texted = Counter(c for c, _d in sms if c is not None)
    names = _names(session, set(called) | set(visited) | set(texted))
    talk = sum(d for _c, d, _a in calls)
    stats = {
        "calls": len(calls),
        "calls_answered": sum(1 for *_x, answered in calls if answered),
        "talk_time_s": talk,
        "sms": len(sms),
        "visits": len(set(visited)),
        "customers_contacted": len(set(called) | set(visited) | set(texted)),
        "activities_done": len(done),
        "new_customers": len(new_customers),
    }
    lines = [
        f"{day:%Y-%m-%d} 工作日报(根据手机采集数据自动生成,可修改)",
        f"通话 {stats['calls']} 个(接通 {stats['calls_answered']} 个),通话时长 {talk // 60} 分钟;"
        f"短信 {stats['sms']} 条;拜访 {stats['visits']} 家;新增客户 {stats['new_customers']} 个。",
    ]
    if visited:
        lines.append("拜访客户: " + _listing(visited, names))
    if called:
        lines.append("通话客户: " + _listing(called, names))
    if texted:
        lines.append("短信客户: " + _listing(texted, names))
    if done:
        lines.append(
            "完成事项: "
            + ";".join(a.subject + (f"({a.outcome})" if a.outcome else "") for a in done[:_LISTED])
        )
    lines.append("明日计划: " + (";".join(a.subject for a in planned[:_LISTED]) if planned else ""))
    return stats, "\n".join(lines)


def draft_report(
    session: Session, *, actor: User, user_id: int, day: date, now: datetime, zone: str = "Asia/Shanghai"
) -> DailyReport:
    """Create or refresh the draft; a draft the rep edited keeps its text and only gets new numbers."""
    user = session.get(User, user_id)
    if user is None or user.division_id is None:
        raise NotFound("no such user", field="user_id", code="user.not_found")
    if user_id != actor.id and not (is_manager(actor) and get_visible(session, actor, User, user_id)):
        raise Forbidden("you draft your own daily report", field="user_id", code="daily_report.own_only")
    report = session.exec(
        select(DailyReport).where(DailyReport.user_id == user_id, DailyReport.day == day)
    ).first()
    if report is not None and report.status == ReportStatus.submitted:
        raise Conflict("the report was submitted already", field="day", code="daily_report.submitted")
    stats, text = day_activity(session, user, day, zone)
    if report is None:
        report = DailyReport(
            division_id=user.division_id, user_id=user_id, day=day, created_at=now, updated_at=now
        )
    report.stats = stats
    if not report.edited:
        report.content = text
    report.updated_at = now
    session.add(report)
    session.commit()
    return report


def _own_report(session: Session, actor: User, report_id: int) -> DailyReport:
    report = get_visible(session, actor, DailyReport, report_id)
    if report is None:
        raise NotFound("no such report", field="report_id", code="daily_report.not_found")
    if report.user_id != actor.id:
        raise Forbidden(
            "only its author changes a daily report", field="report_id", code="daily_report.author_only"
        )
    if report.status == ReportStatus.submitted:
        raise Conflict("the report was submitted already", field="report_id", code="daily_report.submitted")
    return report


def edit_report(
    session: Session, *, actor: User, report_id: int, data: ReportEdit, now: datetime
) -> DailyReport:
    report = _own_report(session, actor, report_id)
    report.content, report.edited, report.updated_at = data.content, True, now
    session.add(report)
    session.commit()
    return report


def submit_report(session: Session, *, actor: User, report_id: int, now: datetime) -> DailyReport:
    report = _own_report(session, actor, report_id)
    report.status, report.submitted_at, report.updated_at = ReportStatus.submitted, now, now
    session.add(report)
    session.commit()
    return report


def draft_daily_reports(session: Session, now: datetime, *, zone: str = "Asia/Shanghai") -> int:
    """From 18:00 local time, draft today's report for every active rep who has none yet."""
    local = now.astimezone(ZoneInfo(zone))
    if local.hour < DRAFT_FROM_HOUR:
        return 0
    day = local.date()
    have = set(session.scalars(select(DailyReport.user_id).where(DailyReport.day == day)))
    reps = session.exec(
        select(User).where(
            User.role == Role.rep, User.is_active, User.frozen_at.is_(None), User.division_id.is_not(None)
        )
    ).all()
    drafted = 0
    for rep in reps:
        if rep.id in have:
            continue
        stats, text = day_activity(session, rep, day, zone)
        session.add(
            DailyReport(
                division_id=rep.division_id,
                user_id=rep.id,
                day=day,
                content=text,
                stats=stats,  # type: ignore[arg-type]
                created_at=now,
                updated_at=now,
            )
        )
        drafted += 1
    session.commit()
    return drafted
