"""Targets and progress, leaderboards, daily reports, summary reports."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from sqlmodel import select

from crm.access import scope
from crm.daily_reports import DailyReport, ReportEdit, ReportView, draft_report, edit_report, submit_report
from crm.reports import SummaryReport, summary_report
from crm.schemas import Input
from crm.targets import LeaderRow, ProgressRow, TargetIn, leaderboard, set_target, target_progress
from crm.types import utcnow
from server.deps import CurrentUser, SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1", tags=["targets and reports"])


class DraftIn(Input):
    day: date
    user_id: int | None = None


def _period(start: date, end: date, zone: str) -> tuple[datetime, datetime]:
    tz = ZoneInfo(zone)
    return datetime.combine(start, time(0), tz), datetime.combine(end, time(0), tz) + timedelta(days=1)


@router.put("/targets", response_model=ProgressRow)
def put_target(body: TargetIn, session: SessionDep, user: CurrentUser, settings: SettingsDep) -> ProgressRow:
    set_target(session, actor=user, data=body, now=utcnow())
    rows = target_progress(session, actor=user, month=body.month, zone=settings.time_zone)
    return next(r for r in rows if r.user_id == body.user_id and r.metric == body.metric)


@router.get("/targets/progress", response_model=list[ProgressRow])
def get_progress(
    session: SessionDep, user: CurrentUser, settings: SettingsDep, month: date
) -> list[ProgressRow]:
    return target_progress(session, actor=user, month=month, zone=settings.time_zone)


@router.get("/leaderboard", response_model=list[LeaderRow])
def get_leaderboard(
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    start: date,
    end: date,
    sort: str = "revenue",
) -> list[LeaderRow]:
    """Reps ranked over the local days ``start``..``end`` (inclusive)."""
    begin, finish = _period(start, end, settings.time_zone)
    return leaderboard(session, actor=user, start=begin, end=finish, sort=sort, zone=settings.time_zone)


@router.get("/reports/summary", response_model=SummaryReport)
def get_summary(
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    start: date,
    end: date,
    division_id: int | None = None,
) -> SummaryReport:
    begin, finish = _period(start, end, settings.time_zone)
    return summary_report(session, actor=user, start=begin, end=finish, as_of=end, division_id=division_id)


@router.get("/daily-reports", response_model=list[ReportView])
def get_daily_reports(
    session: SessionDep, user: CurrentUser, day: date, user_id: int | None = Query(default=None)
) -> list[DailyReport]:
    stmt = (
        scope(select(DailyReport), user, DailyReport)
        .where(DailyReport.day == day)
        .order_by(DailyReport.user_id)
    )
    if user_id is not None:
        stmt = stmt.where(DailyReport.user_id == user_id)
    return list(session.exec(stmt))


@router.post("/daily-reports/draft", response_model=ReportView)
def post_draft(body: DraftIn, session: SessionDep, user: CurrentUser, settings: SettingsDep) -> DailyReport:
    return draft_report(
        session,
        actor=user,
        user_id=body.user_id or user.id,
        day=body.day,
        now=utcnow(),
        zone=settings.time_zone,  # type: ignore[arg-type]
    )


@router.patch("/daily-reports/{report_id}", response_model=ReportView)
def patch_report(report_id: int, body: ReportEdit, session: SessionDep, user: CurrentUser) -> DailyReport:
    return edit_report(session, actor=user, report_id=report_id, data=body, now=utcnow())


@router.post("/daily-reports/{report_id}/submit", response_model=ReportView)
def post_submit(report_id: int, session: SessionDep, user: CurrentUser) -> DailyReport:
    return submit_report(session, actor=user, report_id=report_id, now=utcnow())
