"""Service tickets: the list with SLA clocks, and a ticket's page (status changes, assignment, history)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import select

from crm.access import get_visible, scope
from crm.actors import is_manager
from crm.errors import DomainError
from crm.org import User
from crm.tickets import Priority, Ticket, TicketFilter, TicketKind, TicketStatus, TicketView, list_tickets
from crm.timeline import TimelineEvent
from crm.types import utcnow
from dashboard.auth import page_roles
from dashboard.i18n import Translator, request_locale
from dashboard.lookups import customer_names, user_names, visible_reps
from dashboard.nav import SALES
from dashboard.sla import sla_clock
from dashboard.web import error_page, render
from server.deps import SessionDep

router = APIRouter(include_in_schema=False)
SalesUser = Annotated[User, Depends(page_roles(*SALES))]

# ``state`` choices of the list: a status, or every open ticket past its resolve time.
STATES = (*[s.value for s in TicketStatus], "overdue")


def sla_messages(t: Translator) -> dict[str, str]:
    """What the pages' ticking SLA clocks need (see ``fieldcrm.clocks`` in app.js)."""
    return t.messages("sla") | t.messages("unit")


@router.get("/tickets", response_class=HTMLResponse)
def ticket_list(
    request: Request,
    session: SessionDep,
    user: SalesUser,
    state: str | None = Query(default=None, max_length=20),
    kind: TicketKind | None = None,
    assignee: int | None = None,
    cursor: str | None = Query(default=None, max_length=500),
) -> Response:
    now = utcnow()
    if state and state not in STATES:
        return error_page(request, user, 400)
    filters = TicketFilter(
        status=TicketStatus(state) if state and state != "overdue" else None,
        kind=kind,
        assignee_id=assignee,
        overdue_at=now if state == "overdue" else None,
    )
    try:
        page = list_tickets(session, actor=user, filters=filters, cursor=cursor, limit=50)
    except DomainError:
        return error_page(request, user, 400)
    t = Translator(request_locale(request, user))
    return render(
        request,
        "tickets.html",
        user=user,
        tickets=page.items,
        clocks={tk.id: sla_clock(tk, now) for tk in page.items},
        next_cursor=page.next_cursor,
        state=state or "",
        kind=kind,
        assignee=assignee,
        states=STATES,
        kinds=list(TicketKind),
        reps=visible_reps(session, user) if is_manager(user) else [],
        customers=customer_names(session, user, (tk.customer_id for tk in page.items)),
        assignees=user_names(session, user, (tk.assignee_id for tk in page.items)),
        messages=sla_messages(t),
    )


@router.get("/tickets/{ticket_id}", response_class=HTMLResponse)
def ticket_page(request: Request, session: SessionDep, user: SalesUser, ticket_id: int) -> Response:
    row = get_visible(session, user, Ticket, ticket_id)
    if row is None:
        return error_page(request, user, 404)
    ticket = TicketView.model_validate(row)
    history = session.exec(
        scope(select(TimelineEvent), user, TimelineEvent)
        .where(TimelineEvent.source_table == Ticket.__tablename__, TimelineEvent.source_id == ticket.id)
        .order_by(TimelineEvent.occurred_at, TimelineEvent.id)
    ).all()
    manager = is_manager(user)
    t = Translator(request_locale(request, user))
    return render(
        request,
        "ticket.html",
        user=user,
        ticket=ticket,
        clock=sla_clock(ticket, utcnow()),
        customer_name=customer_names(session, user, [ticket.customer_id]).get(ticket.customer_id, ""),
        names=user_names(session, user, [ticket.assignee_id, *(e.actor_user_id for e in history)]),
        history=history,
        manager=manager,
        may_work=manager or ticket.assignee_id == user.id,
        reps=[r for r in visible_reps(session, user) if r.division_id == ticket.division_id]
        if manager
        else [],
        priorities=list(Priority),
        messages=sla_messages(t) | t.messages("ticket"),
    )
