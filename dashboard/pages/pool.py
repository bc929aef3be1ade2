"""Public pool (公海): unowned customers (numbers masked) to claim, the rules that apply, releasing one's
own customers back, and assigning from the pool (managers)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlmodel import select

from crm.access import get_visible
from crm.actors import is_manager
from crm.customer_service import CustomerFilter, list_customers
from crm.customers import Customer
from crm.errors import DomainError
from crm.org import User
from crm.pool import PoolClaimCounter
from crm.pool_service import holding, list_pools, local_day
from crm.types import utcnow
from dashboard.auth import page_roles
from dashboard.i18n import Translator, request_locale
from dashboard.lookups import visible_divisions, visible_reps
from dashboard.nav import SALES
from dashboard.web import error_page, render
from server.deps import SessionDep, SettingsDep
from server.routes.crm_customers import FilterDep

router = APIRouter(include_in_schema=False)
SalesUser = Annotated[User, Depends(page_roles(*SALES))]


@router.get("/pool", response_class=HTMLResponse)
def pool_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: SalesUser,
    filters: FilterDep,
    cursor: str | None = Query(default=None, max_length=500),
) -> Response:
    in_pool = filters.model_copy(update={"in_pool": True, "owner_id": None})
    try:
        page = list_customers(
            session, actor=user, filters=in_pool, cursor=cursor, limit=50, region=settings.default_region
        )
    except DomainError:
        return error_page(request, user, 400)
    pools = list_pools(session, actor=user)
    own_pool = next((p for p in pools if p.division_id == user.division_id and p.is_default), None)
    claimed_today = 0
    if own_pool is not None:
        claimed_today = (
            session.exec(
                select(PoolClaimCounter.count).where(
                    PoolClaimCounter.user_id == user.id,
                    PoolClaimCounter.day == local_day(utcnow(), settings.time_zone),
                )
            ).first()
            or 0
        )
    mine = (
        list_customers(session, actor=user, filters=CustomerFilter(owner_id=user.id), limit=100).items
        if own_pool is not None
        else []
    )
    t = Translator(request_locale(request, user))
    return render(
        request,
        "pool.html",
        user=user,
        customers=page.items,
        filters=in_pool,
        next_cursor=page.next_cursor,
        pools=pools,
        own_pool=own_pool,
        may_claim=own_pool is not None and str(user.role) in own_pool.claim_roles,
        claimed_today=claimed_today,
        holding=holding(session, user.id) if own_pool is not None else 0,  # type: ignore[arg-type]
        mine=mine,
        manager=is_manager(user),
        reps=visible_reps(session, user) if is_manager(user) else [],
        divisions={d.id: d.name for d in visible_divisions(session, user)},
        messages=t.messages("pool"),
    )


@router.get("/pool/customers/{customer_id}/state")
def pool_state(session: SessionDep, user: SalesUser, customer_id: int) -> Response:
    """Whether a customer is (still) in the pool, e.g. after a refused claim: a rule, or someone was faster.

    A customer the actor cannot see (a rep, once a colleague owns it) is not in their pool. Unlike the
    customer detail API this reads no phone numbers, so nothing is unmasked or audited.
    """
    customer = get_visible(session, user, Customer, customer_id)
    in_pool = customer is not None and customer.merged_into_id is None and customer.owner_id is None
    return JSONResponse({"in_pool": in_pool})
