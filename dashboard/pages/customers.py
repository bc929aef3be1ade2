"""Customer list and customer 360 (profile, contacts, opportunities, tickets, timeline with recordings)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import select

from crm.access import scope, sees_full_numbers
from crm.customer_service import active_phones, list_customers, summaries, visible_customer
from crm.customers import Contact
from crm.errors import DomainError, NotFound
from crm.opportunities import OpportunityFilter, list_opportunities
from crm.org import User
from crm.phones import shown
from crm.tickets import Priority, TicketFilter, TicketKind, list_tickets
from crm.types import utcnow
from dashboard.auth import page_roles
from dashboard.i18n import Translator, request_locale
from dashboard.lookups import stage_names, user_names
from dashboard.nav import SALES
from dashboard.pages.tickets import sla_messages
from dashboard.sla import sla_clock
from dashboard.web import error_page, render
from server.deps import SessionDep, SettingsDep
from server.routes.crm_customers import FilterDep

router = APIRouter(include_in_schema=False)
PANEL_ROWS = 20
SalesUser = Annotated[User, Depends(page_roles(*SALES))]


# Kinds offered as timeline filters: what the capture, location and CRM services write. (A DISTINCT
# over a customer's events would scan their whole history; these are few and known.)
TIMELINE_KINDS = (
    "call",
    "sms",
    "recording",
    "checkin",
    "dispatch",
    "stage_change",
    "ticket",
    "payment",
    "ownership",
    "contact_deleted",
)


@router.get("/customers", response_class=HTMLResponse)
def customer_list(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: SalesUser,
    filters: FilterDep,
    cursor: str | None = Query(default=None, max_length=500),
) -> Response:
    try:
        page = list_customers(
            session, actor=user, filters=filters, cursor=cursor, limit=50, region=settings.default_region
        )
    except DomainError as exc:
        return error_page(request, user, exc.status_code)
    owners = user_names(session, user, (c.owner_id for c in page.items))
    return render(
        request,
        "customers.html",
        user=user,
        customers=page.items,
        owners=owners,
        filters=filters,
        next_cursor=page.next_cursor,
    )


@router.get("/customers/{customer_id}", response_class=HTMLResponse)
def customer_360(request: Request, session: SessionDep, user: SalesUser, customer_id: int) -> Response:
    try:
        customer = visible_customer(session, user, customer_id)
    except NotFound:
        return error_page(request, user, 404)
    summary = summaries(session, user, [customer])[0]
    is_owner = customer.owner_id is not None and customer.owner_id == user.id
    phones = active_phones(session, [customer_id]).get(customer_id, [])
    contacts = session.exec(
        scope(select(Contact), user, Contact)
        .where(Contact.customer_id == customer_id)
        .order_by(Contact.is_primary.desc(), Contact.id)
    ).all()
    contact_phones = {
        c.id: [shown(p.e164, full=is_owner) for p in phones if p.contact_id == c.id] for c in contacts
    }
    t = Translator(request_locale(request, user))
    opportunities = list_opportunities(
        session, actor=user, filters=OpportunityFilter(customer_id=customer_id), limit=PANEL_ROWS
    ).items
    tickets = list_tickets(
        session, actor=user, filters=TicketFilter(customer_id=customer_id), limit=PANEL_ROWS
    ).items
    now = utcnow()
    return render(
        request,
        "customer.html",
        user=user,
        customer=customer,
        summary=summary,
        owner_name=user_names(session, user, [customer.owner_id]).get(customer.owner_id or 0, ""),
        contacts=contacts,
        contact_phones=contact_phones,
        company_phones=[shown(p.e164, full=is_owner) for p in phones if p.contact_id is None],
        may_unmask=not is_owner and bool(phones) and sees_full_numbers(user, customer.owner_id),
        kinds=TIMELINE_KINDS,
        opportunities=opportunities,
        stage_names=stage_names(session, user, (o.stage_id for o in opportunities)),
        tickets=tickets,
        clocks={tk.id: sla_clock(tk, now) for tk in tickets},
        ticket_kinds=list(TicketKind),
        priorities=list(Priority),
        messages=t.messages("timeline") | t.messages("customer"),
        sla=sla_messages(t),
    )
