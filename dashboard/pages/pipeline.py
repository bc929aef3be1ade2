"""Pipeline: opportunities of a chosen pipeline as a board (drag a card to change its stage) or a list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import func
from sqlmodel import Session, select

from crm.access import get_visible, scope
from crm.actors import is_manager
from crm.errors import DomainError
from crm.lost_reasons import list_lost_reasons
from crm.money import money, money_sum
from crm.opportunities import OpportunityFilter, OpportunityView, StageView, list_opportunities
from crm.org import User
from crm.pipeline import Opportunity, OpportunityStatus, PipelineStage, StageChange
from crm.pipeline_config import PipelineView, list_pipelines
from dashboard.auth import page_roles
from dashboard.i18n import Translator, request_locale
from dashboard.lookups import customer_names, user_names, visible_divisions, visible_reps
from dashboard.nav import SALES
from dashboard.web import error_page, render
from server.deps import SessionDep

router = APIRouter(include_in_schema=False)
SalesUser = Annotated[User, Depends(page_roles(*SALES))]

CARDS_PER_STAGE = 50


@dataclass(frozen=True)
class Column:
    stage: StageView
    cards: list[OpportunityView]
    count: int
    amount: Decimal


def _stage_totals(session: Session, actor: User, pipeline_id: int) -> dict[int, tuple[int, Decimal]]:
    rows = session.execute(
        scope(select(Opportunity.stage_id, func.count(), money_sum(Opportunity.amount)), actor, Opportunity)
        .where(Opportunity.pipeline_id == pipeline_id)
        .group_by(Opportunity.stage_id)
    )
    return {stage_id: (n, money(amount)) for stage_id, n, amount in rows}


def board_columns(session: Session, actor: User, pipeline: PipelineView) -> list[Column]:
    totals = _stage_totals(session, actor, pipeline.id)
    columns = []
    for stage in pipeline.stages:
        page = list_opportunities(
            session,
            actor=actor,
            filters=OpportunityFilter(pipeline_id=pipeline.id, stage_id=stage.id),
            limit=CARDS_PER_STAGE,
        )
        count, amount = totals.get(stage.id, (0, Decimal(0)))  # type: ignore[arg-type]
        columns.append(Column(stage, page.items, count, amount))
    return columns


@router.get("/pipeline", response_class=HTMLResponse)
def pipeline_page(
    request: Request,
    session: SessionDep,
    user: SalesUser,
    pipeline: int | None = Query(default=None),
    view: str = Query(default="board", pattern="^(board|list)$"),
    status: OpportunityStatus | None = None,
    stage: int | None = None,
    owner: int | None = None,
    closing_before: date | None = None,
    cursor: str | None = Query(default=None, max_length=500),
) -> Response:
    pipelines = list_pipelines(session, actor=user)
    chosen = next((p for p in pipelines if p.id == pipeline), None) if pipeline else None
    if pipeline is not None and chosen is None:
        return error_page(request, user, 404)
    chosen = chosen or (pipelines[0] if pipelines else None)
    t = Translator(request_locale(request, user))
    context: dict[str, Any] = {
        "pipelines": pipelines,
        "divisions": {d.id: d.name for d in visible_divisions(session, user)},
        "pipeline": chosen,
        "view": view,
        "stages": chosen.stages if chosen else [],
        "lost_reasons": list_lost_reasons(session, actor=user, division_id=chosen.division_id)
        if chosen
        else [],
        "reps": visible_reps(session, user) if is_manager(user) and view == "list" else [],
        "messages": t.messages("pipeline"),
    }
    items: list[OpportunityView] = []
    if chosen is not None and view == "board":
        context["columns"] = board_columns(session, user, chosen)
        items = [card for column in context["columns"] for card in column.cards]
    elif chosen is not None:
        filters = OpportunityFilter(
            pipeline_id=chosen.id,
            status=status,
            stage_id=stage,
            owner_id=owner,
            closing_before=closing_before,
        )
        try:
            page = list_opportunities(session, actor=user, filters=filters, cursor=cursor, limit=50)
        except DomainError:
            return error_page(request, user, 400)
        items, context["next_cursor"] = page.items, page.next_cursor
        context["filters"] = filters
    context["items"] = items
    context["customers"] = customer_names(session, user, (o.customer_id for o in items))
    context["owners"] = user_names(session, user, (o.owner_id for o in items))
    context["stage_names"] = {s.id: s.name for s in context["stages"]}
    return render(request, "pipeline.html", user=user, **context)


@router.get("/pipeline/opportunities/{opportunity_id}/history")
def stage_history(session: SessionDep, user: SalesUser, opportunity_id: int) -> Response:
    """An opportunity's stage changes, oldest first (for the board's card panel)."""
    opp = get_visible(session, user, Opportunity, opportunity_id)
    if opp is None:
        return JSONResponse({"detail": "no such opportunity", "field": "opportunity_id"}, status_code=404)
    names = dict(
        session.exec(
            select(PipelineStage.id, PipelineStage.name).where(PipelineStage.pipeline_id == opp.pipeline_id)
        ).all()
    )
    changes = session.exec(
        select(StageChange)
        .where(StageChange.opportunity_id == opp.id)
        .order_by(StageChange.occurred_at, StageChange.id)
    ).all()
    actors = user_names(session, user, (c.actor_user_id for c in changes))
    return JSONResponse(
        {
            "id": opp.id,
            "name": opp.name,
            "status": opp.status,
            "lost_reason": opp.lost_reason,
            "history": [
                {
                    "from": names.get(c.from_stage_id) if c.from_stage_id else None,
                    "to": names.get(c.to_stage_id, ""),
                    "by": actors.get(c.actor_user_id or 0, ""),
                    "at": c.occurred_at.isoformat(),
                }
                for c in changes
            ],
        }
    )
