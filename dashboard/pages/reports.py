"""Reports: funnel and conversion by stage, win rate, leaderboards, targets with progress, receivables
ageing, visits per rep — as tables and server-side SVG charts. Everything goes through the access
scope, so a rep sees only their own figures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func
from sqlmodel import Session, select

from crm.access import scope
from crm.activity_stats import METRICS, ranking_viewer
from crm.locations import Checkin
from crm.org import Role, User
from crm.reports import FunnelStage, summary_report
from crm.rows import column_rows
from crm.sales_docs import AgeingRow
from crm.targets import ProgressRow, Target, ranking, target_progress
from dashboard.auth import page_roles
from dashboard.charts import BarChart, Row, bar_chart
from dashboard.formatting import Formatter
from dashboard.i18n import Translator, request_locale
from dashboard.lookups import user_names, visible_divisions
from dashboard.nav import SALES
from dashboard.web import error_page, local_now, render
from server.deps import SessionDep, SettingsDep

router = APIRouter(include_in_schema=False)
SalesUser = Annotated[User, Depends(page_roles(*SALES))]

# Leaderboard columns: the service's metrics plus check-ins counted here.
BOARD_METRICS = ("calls", "talk_time_s", "sms", "visits", "checkins", "deals_won", "won_amount", "revenue")
MONEY_METRICS = {"won_amount", "revenue"}
# Leaderboard rows listed unless ``?all=1`` (a large organisation has thousands of reps).
BOARD_ROWS = 50


def checkins_by_rep(session: Session, actor: User, start: datetime, end: datetime) -> dict[int, int]:
    rows = column_rows(
        session,
        scope(select(Checkin.rep_user_id, func.count()), actor, Checkin)
        .where(Checkin.occurred_at >= start, Checkin.occurred_at < end)
        .group_by(Checkin.rep_user_id)
    )
    return dict(rows)  # type: ignore[arg-type]


def has_targets(session: Session, actor: User, month: date) -> bool:
    """Whether any target the actor sees is set for the month (progress counts a month of activity)."""
    stmt = scope(select(Target.id), actor, Target).where(Target.month == month.replace(day=1)).limit(1)
    return session.exec(stmt).first() is not None


def metric_text(fmt: Formatter, metric: str, value: Any) -> str:
    if metric in MONEY_METRICS:
        return fmt.money(value)
    if metric == "talk_time_s":
        return fmt.duration(value)
    return str(value)


def funnel_chart(t: Translator, rows: list[FunnelStage]) -> BarChart:
    return bar_chart(
        t("reports.funnel"),
        [Row(r.name, r.reached, t("reports.reached_n", n=r.reached)) for r in rows],
        kind="funnel",
        centered=True,
    )


def board_chart(t: Translator, fmt: Formatter, rows: list[dict[str, Any]], metric: str) -> BarChart:
    return bar_chart(
        t("reports.metric." + metric),
        [Row(r["name"], r[metric], metric_text(fmt, metric, r[metric])) for r in rows[:15]],
        kind="leaderboard",
    )


def target_chart(
    t: Translator, fmt: Formatter, rows: list[ProgressRow], name_of: Callable[[int | None], str]
) -> BarChart:
    """One bar per target: the share achieved against a full-length track (100 %)."""

    def amount(r: ProgressRow, value: Decimal) -> str:
        return fmt.money(value) if r.metric == "revenue" else str(int(value))

    return bar_chart(
        t("reports.targets"),
        [
            Row(
                f"{name_of(r.user_id)} · {t('reports.target.' + r.metric)}",
                min(r.ratio or 0, 1.0),
                f"{amount(r, r.actual)} / {amount(r, r.target)}"
                + (f" ({r.ratio:.0%})" if r.ratio is not None else ""),
                track=1,
            )
            for r in rows
        ],
        kind="progress",
        value_width=190,
        label_width=190,
    )


def ageing_chart(t: Translator, fmt: Formatter, rows: list[AgeingRow]) -> BarChart:
    return bar_chart(
        t("reports.ageing"),
        [
            Row(
                t("reports.bucket." + r.bucket),
                r.outstanding,
                f"{fmt.money(r.outstanding)} · {r.receivables}",
            )
            for r in rows
        ],
        kind="ageing",
        value_width=170,
    )


def _period(start: date, end: date, zone: str) -> tuple[datetime, datetime]:
    tz = ZoneInfo(zone)
    return datetime.combine(start, time(0), tz), datetime.combine(end, time(0), tz) + timedelta(days=1)


@router.get("/reports", response_class=HTMLResponse)
def reports_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: SalesUser,
    start: date | None = None,
    end: date | None = None,
    division: int | None = None,
    metric: str = Query(default="calls", pattern="^(" + "|".join(BOARD_METRICS) + ")$"),
    everyone: bool = Query(default=False, alias="all"),
) -> Response:
    today = local_now(request).date()
    start = start or today.replace(day=1)
    end = end or today
    if end < start or (end - start).days > 366:
        return error_page(request, user, 400)
    zone = settings.time_zone
    begin, finish = _period(start, end, zone)
    divisions = visible_divisions(session, user) if Role(user.role) is Role.executive else []
    division_id = user.division_id if Role(user.role) is not Role.executive else division
    if division_id is None and divisions:
        division_id = divisions[0].id
    elif divisions and division_id not in {d.id for d in divisions}:
        return error_page(request, user, 404)
    summary = (
        summary_report(session, actor=user, start=begin, end=finish, as_of=end, division_id=division_id)
        if division_id is not None
        else None
    )
    service_metric = metric if metric in METRICS else "visits"
    rows = ranking(session, actor=user, start=begin, end=finish, sort=service_metric, zone=zone)
    checkins = checkins_by_rep(session, ranking_viewer(user), begin, finish)  # totals of the board's reps
    for row in rows:
        row["checkins"] = checkins.get(row["user_id"], 0)
    if metric == "checkins":
        rows.sort(key=lambda r: (-r["checkins"], r["user_id"]))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    progress = (
        target_progress(session, actor=user, month=start, zone=zone)
        if has_targets(session, user, start)
        else []
    )
    names = user_names(session, user, (p.user_id for p in progress))
    t = Translator(request_locale(request, user))
    fmt = Formatter(t, zone)
    division_name = {d.id: d.name for d in visible_divisions(session, user)}

    def name_of(user_id: int | None) -> str:
        if user_id is None:
            return division_name.get(division_id or 0, t("reports.division"))
        return names.get(user_id, f"#{user_id}")

    visits = sorted(rows, key=lambda r: (-r["visits"], r["user_id"]))
    return render(
        request,
        "reports.html",
        user=user,
        start=start,
        end=end,
        metric=metric,
        metrics=BOARD_METRICS,
        divisions=divisions,
        division_id=division_id,
        summary=summary,
        board=rows if everyone else rows[:BOARD_ROWS],
        board_total=len(rows),
        name_of=name_of,
        metric_text=lambda m, v: metric_text(fmt, m, v),
        charts={
            "funnel": funnel_chart(t, summary.funnel) if summary else None,
            "board": board_chart(t, fmt, rows, metric),
            "targets": target_chart(t, fmt, progress, name_of),
            "ageing": ageing_chart(t, fmt, summary.ageing) if summary else None,
            "visits": bar_chart(
                t("reports.visits_per_rep"),
                [Row(r["name"], r["visits"], str(r["visits"])) for r in visits[:20]],
                kind="visits",
            ),
        },
    )
