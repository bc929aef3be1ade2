"""Summary reports for managers: pipeline funnel, conversion by stage, win rate, receivables ageing."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from itertools import pairwise

from sqlalchemy import case, func, select
from sqlmodel import Session

from crm.access import scope
from crm.actors import acting_division
from crm.money import ZERO, money, money_sum
from crm.org import User
from crm.pipeline import Opportunity, OpportunityStatus, StageChange, default_pipeline, stages_of
from crm.rows import column_rows
from crm.sales_docs import AgeingRow, receivables_ageing
from crm.schemas import View


class FunnelStage(View):
    stage_id: int
    name: str
    probability: int
    open_count: int
    open_amount: Decimal
    weighted_amount: Decimal
    reached: int = 0
    conversion_to_next: float | None = None


class WinRate(View):
    won: int
    lost: int
    won_amount: Decimal
    lost_amount: Decimal
    win_rate: float | None


class SummaryReport(View):
    funnel: list[FunnelStage]
    win_rate: WinRate
    ageing: list[AgeingRow]


def funnel(
    session: Session, *, actor: User, start: datetime, end: datetime, division_id: int | None = None
) -> list[FunnelStage]:
    """Open opportunities per stage of the division's default pipeline, and for opportunities created
    in the period how many reached each stage and went on to the next."""
    division = acting_division(session, actor, division_id if division_id is not None else actor.division_id)
    pipeline = default_pipeline(session, division)
    session.commit()
    stages = [s for s in stages_of(session, pipeline.id) if not s.is_lost]  # type: ignore[arg-type]
    if not stages:
        return []
    open_rows = column_rows(
        session,
        scope(select(Opportunity.stage_id, func.count(), money_sum(Opportunity.amount)), actor, Opportunity)
        .where(Opportunity.pipeline_id == pipeline.id, Opportunity.status == OpportunityStatus.open)
        .group_by(Opportunity.stage_id)
    )
    open_by_stage = {stage_id: (n, money(amount)) for stage_id, n, amount in open_rows}
    position = {s.id: s.position for s in stages}
    # How many opportunities went furthest to each position, counted in the database (a month may
    # have tens of thousands of stage changes).
    furthest = (
        scope(
            select(func.max(case(position, value=StageChange.to_stage_id)).label("furthest")).select_from(Opportunity),
            actor,
            Opportunity,
        )
        .join(StageChange, StageChange.opportunity_id == Opportunity.id)
        .where(
            Opportunity.pipeline_id == pipeline.id,
            Opportunity.created_at >= start,
            Opportunity.created_at < end,
            StageChange.to_stage_id.in_(list(position)),
        )
        .group_by(Opportunity.id)  # from the period's opportunities to their changes
        .subquery()
    )
    reached_at = dict(
        column_rows(session, select(furthest.c.furthest, func.count()).group_by(furthest.c.furthest))
    )
    rows = []
    for stage in stages:
        count, amount = open_by_stage.get(stage.id, (0, ZERO))  # type: ignore[arg-type]
        rows.append(
            FunnelStage(
                stage_id=stage.id,  # type: ignore[arg-type]
                name=stage.name,
                probability=stage.probability,
                open_count=count,
                open_amount=amount,
                weighted_amount=money(amount * stage.probability / 100),
                reached=sum(n for p, n in reached_at.items() if p >= stage.position),
            )
        )
    for current, following in pairwise(rows):
        current.conversion_to_next = following.reached / current.reached if current.reached else None
    return rows


def win_rate(session: Session, *, actor: User, start: datetime, end: datetime) -> WinRate:
    rows = column_rows(
        session,
        scope(select(Opportunity.status, func.count(), money_sum(Opportunity.amount)), actor, Opportunity)
        .where(
            Opportunity.status.in_((OpportunityStatus.won, OpportunityStatus.lost)),
            Opportunity.closed_at >= start,
            Opportunity.closed_at < end,
        )
        .group_by(Opportunity.status)
    )
    totals = {status: (n, money(amount)) for status, n, amount in rows}
    won, won_amount = totals.get(OpportunityStatus.won, (0, ZERO))
    lost, lost_amount = totals.get(OpportunityStatus.lost, (0, ZERO))
    return WinRate(
        won=won,
        lost=lost,
        won_amount=won_amount,
        lost_amount=lost_amount,
        win_rate=won / (won + lost) if won + lost else None,
    )


def summary_report(
    session: Session,
    *,
    actor: User,
    start: datetime,
    end: datetime,
    as_of: date,
    division_id: int | None = None,
) -> SummaryReport:
    return SummaryReport(
        funnel=funnel(session, actor=actor, start=start, end=end, division_id=division_id),
        win_rate=win_rate(session, actor=actor, start=start, end=end),
        ageing=receivables_ageing(session, actor=actor, as_of=as_of),
    )
