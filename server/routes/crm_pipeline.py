"""Leads, opportunities and stages, activities (notes, tasks, planned calls and visits)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from crm.activities import (
    ActivityCreate,
    ActivityDone,
    ActivityFilter,
    ActivityView,
    PlannedVisit,
    cancel_activity,
    complete_activity,
    create_activity,
    list_activities,
    planned_visits,
)
from crm.conversion import LeadConvert, convert_lead
from crm.leads import (
    LeadCreate,
    LeadFilter,
    LeadStatusChange,
    LeadView,
    create_lead,
    lead_view,
    list_leads,
    set_lead_status,
)
from crm.opportunities import (
    OpportunityCreate,
    OpportunityFilter,
    OpportunityUpdate,
    OpportunityView,
    StageMove,
    StageView,
    create_opportunity,
    list_opportunities,
    move_stage,
    pipeline_stages,
    update_opportunity,
)
from crm.types import utcnow
from server.deps import CurrentUser, SessionDep, SettingsDep, query_filters
from server.routes.schemas import Read

router = APIRouter(prefix="/api/v1", tags=["pipeline"])
Cursor = Annotated[str | None, Query(max_length=500)]
Limit = Annotated[int, Query(ge=1, le=500)]


class LeadPage(Read):
    items: list[LeadView]
    next_cursor: str | None


class OpportunityPage(Read):
    items: list[OpportunityView]
    next_cursor: str | None


class ActivityPage(Read):
    items: list[ActivityView]
    next_cursor: str | None


@router.get("/leads", response_model=LeadPage)
def get_leads(
    session: SessionDep,
    user: CurrentUser,
    filters: Annotated[LeadFilter, query_filters(LeadFilter)],
    cursor: Cursor = None,
    limit: Limit = 50,
) -> LeadPage:
    page = list_leads(session, actor=user, filters=filters, cursor=cursor, limit=limit)
    return LeadPage(items=page.items, next_cursor=page.next_cursor)


@router.post("/leads", response_model=LeadView, status_code=201)
def post_lead(body: LeadCreate, session: SessionDep, user: CurrentUser, settings: SettingsDep) -> LeadView:
    return lead_view(
        create_lead(session, actor=user, data=body, now=utcnow(), region=settings.default_region), user
    )


@router.post("/leads/{lead_id}/status", response_model=LeadView)
def post_lead_status(
    lead_id: int, body: LeadStatusChange, session: SessionDep, user: CurrentUser
) -> LeadView:
    return lead_view(set_lead_status(session, actor=user, lead_id=lead_id, change=body, now=utcnow()), user)


@router.post("/leads/{lead_id}/convert", response_model=LeadView)
def post_convert(
    lead_id: int, body: LeadConvert, session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> LeadView:
    lead = convert_lead(
        session, actor=user, lead_id=lead_id, data=body, now=utcnow(), region=settings.default_region
    )
    return lead_view(lead, user)


@router.get("/pipeline/stages", response_model=list[StageView])
def get_stages(session: SessionDep, user: CurrentUser, division_id: int | None = None) -> list[StageView]:
    return pipeline_stages(session, actor=user, division_id=division_id)


@router.get("/opportunities", response_model=OpportunityPage)
def get_opportunities(
    session: SessionDep,
    user: CurrentUser,
    filters: Annotated[OpportunityFilter, query_filters(OpportunityFilter)],
    sort: str = "-created",
    cursor: Cursor = None,
    limit: Limit = 50,
) -> OpportunityPage:
    page = list_opportunities(session, actor=user, filters=filters, sort=sort, cursor=cursor, limit=limit)
    return OpportunityPage(items=page.items, next_cursor=page.next_cursor)


@router.post("/opportunities", response_model=OpportunityView, status_code=201)
def post_opportunity(body: OpportunityCreate, session: SessionDep, user: CurrentUser) -> OpportunityView:
    return OpportunityView.model_validate(create_opportunity(session, actor=user, data=body, now=utcnow()))


@router.patch("/opportunities/{opportunity_id}", response_model=OpportunityView)
def patch_opportunity(
    opportunity_id: int, body: OpportunityUpdate, session: SessionDep, user: CurrentUser
) -> OpportunityView:
    opp = update_opportunity(session, actor=user, opportunity_id=opportunity_id, data=body, now=utcnow())
    return OpportunityView.model_validate(opp)


@router.post("/opportunities/{opportunity_id}/stage", response_model=OpportunityView)
def post_stage(
    opportunity_id: int, body: StageMove, session: SessionDep, user: CurrentUser
) -> OpportunityView:
    opp = move_stage(session, actor=user, opportunity_id=opportunity_id, move=body, now=utcnow())
    return OpportunityView.model_validate(opp)


@router.get("/activities", response_model=ActivityPage)
def get_activities(
    session: SessionDep,
    user: CurrentUser,
    filters: Annotated[ActivityFilter, query_filters(ActivityFilter)],
    cursor: Cursor = None,
    limit: Limit = 50,
) -> ActivityPage:
    page = list_activities(session, actor=user, filters=filters, cursor=cursor, limit=limit)
    return ActivityPage(items=page.items, next_cursor=page.next_cursor)


@router.post("/activities", response_model=ActivityView, status_code=201)
def post_activity(body: ActivityCreate, session: SessionDep, user: CurrentUser) -> ActivityView:
    return ActivityView.model_validate(create_activity(session, actor=user, data=body, now=utcnow()))


@router.post("/activities/{activity_id}/done", response_model=ActivityView)
def post_done(activity_id: int, body: ActivityDone, session: SessionDep, user: CurrentUser) -> ActivityView:
    return ActivityView.model_validate(
        complete_activity(session, actor=user, activity_id=activity_id, data=body, now=utcnow())
    )


@router.post("/activities/{activity_id}/cancel", response_model=ActivityView)
def post_cancel(activity_id: int, session: SessionDep, user: CurrentUser) -> ActivityView:
    return ActivityView.model_validate(
        cancel_activity(session, actor=user, activity_id=activity_id, now=utcnow())
    )


@router.get("/planned-visits", response_model=list[PlannedVisit])
def get_planned_visits(
    session: SessionDep, user: CurrentUser, settings: SettingsDep, rep_id: int, day: date
) -> list[PlannedVisit]:
    return planned_visits(session, actor=user, rep_id=rep_id, day=day, zone=settings.time_zone)
