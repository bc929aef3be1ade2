"""Service: tickets with SLA and escalation, dispatch, satisfaction surveys, SLA and strategy settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from crm.surveys import SurveyAnswer, SurveyView, answer_survey, send_survey, survey_view
from crm.tickets import (
    SlaIn,
    StrategyIn,
    TicketAssign,
    TicketCreate,
    TicketFilter,
    TicketResolve,
    TicketView,
    assign_ticket,
    close_ticket,
    create_ticket,
    delete_sla,
    list_sla,
    list_strategies,
    list_tickets,
    resolve_ticket,
    set_sla,
    set_strategy,
    start_ticket,
)
from crm.types import utcnow
from server.deps import CurrentUser, SessionDep, SettingsDep, client_ip, query_filters
from server.routes.crm_common import senders_from
from server.routes.schemas import Read

router = APIRouter(prefix="/api/v1", tags=["service"])


class TicketPage(Read):
    items: list[TicketView]
    next_cursor: str | None


class ClosedTicket(TicketView):
    survey_status: str


class SlaOut(Read):
    id: int
    grade: str | None
    kind: str | None
    response_hours: float
    resolve_hours: float


class StrategyOut(Read):
    id: int
    grade: str
    visit_every_days: int | None
    notify: list[str]


@router.get("/tickets", response_model=TicketPage)
def get_tickets(
    session: SessionDep,
    user: CurrentUser,
    filters: Annotated[TicketFilter, query_filters(TicketFilter)],
    cursor: str | None = Query(default=None, max_length=500),
    limit: int = Query(default=50, ge=1, le=500),
) -> TicketPage:
    page = list_tickets(session, actor=user, filters=filters, cursor=cursor, limit=limit)
    return TicketPage(items=page.items, next_cursor=page.next_cursor)


@router.post("/tickets", response_model=TicketView, status_code=201)
def post_ticket(body: TicketCreate, session: SessionDep, user: CurrentUser) -> TicketView:
    return TicketView.model_validate(create_ticket(session, actor=user, data=body, now=utcnow()))


@router.post("/tickets/{ticket_id}/assign", response_model=TicketView)
def post_assign(ticket_id: int, body: TicketAssign, session: SessionDep, user: CurrentUser) -> TicketView:
    return TicketView.model_validate(
        assign_ticket(session, actor=user, ticket_id=ticket_id, data=body, now=utcnow())
    )


@router.post("/tickets/{ticket_id}/start", response_model=TicketView)
def post_start(ticket_id: int, session: SessionDep, user: CurrentUser) -> TicketView:
    return TicketView.model_validate(start_ticket(session, actor=user, ticket_id=ticket_id, now=utcnow()))


@router.post("/tickets/{ticket_id}/resolve", response_model=TicketView)
def post_resolve(ticket_id: int, body: TicketResolve, session: SessionDep, user: CurrentUser) -> TicketView:
    return TicketView.model_validate(
        resolve_ticket(session, actor=user, ticket_id=ticket_id, data=body, now=utcnow())
    )


@router.post("/tickets/{ticket_id}/close", response_model=ClosedTicket)
def post_close(ticket_id: int, session: SessionDep, user: CurrentUser, settings: SettingsDep) -> ClosedTicket:
    now = utcnow()
    ticket = close_ticket(session, actor=user, ticket_id=ticket_id, now=now)
    survey = send_survey(
        session, ticket=ticket, senders=senders_from(settings), base_url=settings.public_base_url, now=now
    )
    return ClosedTicket(**TicketView.model_validate(ticket).model_dump(), survey_status=survey.send_status)


@router.get("/divisions/{division_id}/sla", response_model=list[SlaOut])
def get_sla(division_id: int, session: SessionDep, user: CurrentUser) -> list[SlaOut]:
    return [SlaOut.model_validate(p) for p in list_sla(session, actor=user, division_id=division_id)]


@router.put("/divisions/{division_id}/sla", response_model=SlaOut)
def put_sla(
    division_id: int, body: SlaIn, request: Request, session: SessionDep, user: CurrentUser
) -> SlaOut:
    policy = set_sla(session, actor=user, division_id=division_id, data=body, ip=client_ip(request))
    return SlaOut.model_validate(policy)


@router.delete("/sla-policies/{policy_id}", status_code=204)
def delete_sla_policy(policy_id: int, request: Request, session: SessionDep, user: CurrentUser) -> None:
    delete_sla(session, actor=user, policy_id=policy_id, ip=client_ip(request))


@router.get("/divisions/{division_id}/service-strategies", response_model=list[StrategyOut])
def get_strategies(division_id: int, session: SessionDep, user: CurrentUser) -> list[StrategyOut]:
    return [
        StrategyOut.model_validate(s) for s in list_strategies(session, actor=user, division_id=division_id)
    ]


@router.put("/divisions/{division_id}/service-strategies", response_model=StrategyOut)
def put_strategy(
    division_id: int, body: StrategyIn, request: Request, session: SessionDep, user: CurrentUser
) -> StrategyOut:
    strategy = set_strategy(session, actor=user, division_id=division_id, data=body, ip=client_ip(request))
    return StrategyOut.model_validate(strategy)


@router.get("/surveys/{token}", response_model=SurveyView)
def get_survey(token: str, session: SessionDep) -> SurveyView:
    """Public: the customer opens the link from the SMS/e-mail."""
    return survey_view(session, token=token)


@router.post("/surveys/{token}", status_code=204)
def post_survey(token: str, body: SurveyAnswer, session: SessionDep) -> None:
    """Public: the customer's answer."""
    answer_survey(session, token=token, answer=body, now=utcnow())
