"""Segments and campaigns (SMS/e-mail through the configured sender); the sales-script library."""

from __future__ import annotations

from fastapi import APIRouter, Query

from crm.campaigns import (
    CampaignIn,
    CampaignView,
    SegmentIn,
    SegmentView,
    create_campaign,
    create_segment,
    send_campaign,
)
from crm.knowledge import ScriptIn, ScriptView, save_script, search_scripts
from crm.types import utcnow
from server.deps import CurrentUser, SessionDep, SettingsDep
from server.routes.crm_common import senders_from
from server.routes.schemas import Read

router = APIRouter(prefix="/api/v1", tags=["campaigns and knowledge"])


class ScriptPage(Read):
    items: list[ScriptView]
    next_cursor: str | None


@router.post("/segments", response_model=SegmentView, status_code=201)
def post_segment(body: SegmentIn, session: SessionDep, user: CurrentUser) -> SegmentView:
    return SegmentView.model_validate(create_segment(session, actor=user, data=body, now=utcnow()))


@router.post("/campaigns", response_model=CampaignView, status_code=201)
def post_campaign(body: CampaignIn, session: SessionDep, user: CurrentUser) -> CampaignView:
    return CampaignView.model_validate(create_campaign(session, actor=user, data=body, now=utcnow()))


@router.post("/campaigns/{campaign_id}/send", response_model=CampaignView)
def post_send(
    campaign_id: int, session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> CampaignView:
    campaign = send_campaign(
        session, actor=user, campaign_id=campaign_id, senders=senders_from(settings), now=utcnow()
    )
    return CampaignView.model_validate(campaign)


@router.get("/scripts", response_model=ScriptPage)
def get_scripts(
    session: SessionDep,
    user: CurrentUser,
    q: str | None = Query(default=None, max_length=100),
    tag: str | None = Query(default=None, max_length=50),
    category: str | None = Query(default=None, max_length=50),
    cursor: str | None = Query(default=None, max_length=500),
    limit: int = Query(default=50, ge=1, le=500),
) -> ScriptPage:
    page = search_scripts(session, actor=user, q=q, tag=tag, category=category, cursor=cursor, limit=limit)
    return ScriptPage(items=page.items, next_cursor=page.next_cursor)


@router.post("/scripts", response_model=ScriptView, status_code=201)
def post_script(body: ScriptIn, session: SessionDep, user: CurrentUser) -> ScriptView:
    return ScriptView.model_validate(save_script(session, actor=user, data=body, now=utcnow()))


@router.put("/scripts/{script_id}", response_model=ScriptView)
def put_script(script_id: int, body: ScriptIn, session: SessionDep, user: CurrentUser) -> ScriptView:
    return ScriptView.model_validate(
        save_script(session, actor=user, data=body, now=utcnow(), script_id=script_id)
    )
