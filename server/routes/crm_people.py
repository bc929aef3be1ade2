"""People changes: freeze a departing user, see and hand over what they hold."""

from __future__ import annotations

from fastapi import APIRouter, Request

from crm.people import HoldingsView, ReassignIn, ReassignmentView, freeze_user, holdings, reassign
from crm.types import utcnow
from server.deps import CurrentUser, SessionDep, client_ip
from server.routes.org import UserRead

router = APIRouter(prefix="/api/v1", tags=["people changes"])


@router.post("/people/{user_id}/freeze", response_model=UserRead)
def post_freeze(user_id: int, request: Request, session: SessionDep, user: CurrentUser) -> UserRead:
    frozen = freeze_user(session, actor=user, user_id=user_id, now=utcnow(), ip=client_ip(request))
    return UserRead.model_validate(frozen)


@router.get("/people/{user_id}/holdings", response_model=HoldingsView)
def get_holdings(user_id: int, session: SessionDep, user: CurrentUser) -> HoldingsView:
    return holdings(session, actor=user, user_id=user_id)


@router.post("/people/{user_id}/reassign", response_model=ReassignmentView)
def post_reassign(
    user_id: int, body: ReassignIn, request: Request, session: SessionDep, user: CurrentUser
) -> ReassignmentView:
    return reassign(session, actor=user, user_id=user_id, data=body, now=utcnow(), ip=client_ip(request))
