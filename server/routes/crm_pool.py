"""Public pool (公海): pools and rules, claim, release, assign; the user's notifications."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from pydantic import Field

from crm.customer_service import CustomerDetail, get_customer
from crm.notifications import NotificationView, list_notifications, mark_read
from crm.pool_service import (
    PoolRules,
    PoolView,
    assign,
    claim,
    create_pool,
    list_pools,
    move_to_pool,
    release,
    update_pool,
)
from crm.types import utcnow
from server.deps import CurrentUser, SessionDep, SettingsDep, client_ip
from server.routes.schemas import Read, Strict

router = APIRouter(prefix="/api/v1", tags=["pool"])


class PoolCreate(PoolRules):
    division_id: int


class ReleaseIn(Strict):
    customer_ids: list[int] = Field(min_length=1, max_length=1000)
    note: str = Field(min_length=1, max_length=500)


class AssignIn(Strict):
    customer_ids: list[int] = Field(min_length=1, max_length=1000)
    to_user_id: int
    note: str = Field(default="", max_length=500)


class MoveIn(Strict):
    customer_ids: list[int] = Field(min_length=1, max_length=1000)


class Count(Read):
    count: int


class NotificationPage(Read):
    items: list[NotificationView]
    next_cursor: str | None


class ReadIn(Strict):
    ids: list[int] = Field(min_length=1, max_length=1000)


@router.get("/pools", response_model=list[PoolView])
def get_pools(session: SessionDep, user: CurrentUser) -> list[PoolView]:
    return list_pools(session, actor=user)


@router.post("/pools", response_model=PoolView, status_code=201)
def post_pool(body: PoolCreate, request: Request, session: SessionDep, user: CurrentUser) -> PoolView:
    rules = PoolRules.model_validate(body.model_dump(exclude_unset=True, exclude={"division_id"}))
    return create_pool(
        session, actor=user, division_id=body.division_id, rules=rules, now=utcnow(), ip=client_ip(request)
    )


@router.patch("/pools/{pool_id}", response_model=PoolView)
def patch_pool(
    pool_id: int, body: PoolRules, request: Request, session: SessionDep, user: CurrentUser
) -> PoolView:
    return update_pool(session, actor=user, pool_id=pool_id, rules=body, now=utcnow(), ip=client_ip(request))


@router.post("/pools/{pool_id}/customers", response_model=Count)
def post_pool_customers(pool_id: int, body: MoveIn, session: SessionDep, user: CurrentUser) -> Count:
    return Count(count=move_to_pool(session, actor=user, customer_ids=body.customer_ids, pool_id=pool_id))


@router.post("/customers/{customer_id}/claim", response_model=CustomerDetail)
def post_claim(
    customer_id: int, session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> CustomerDetail:
    claim(session, actor=user, customer_id=customer_id, now=utcnow(), zone=settings.time_zone)
    return get_customer(session, actor=user, customer_id=customer_id)


@router.post("/customers/release", response_model=Count)
def post_release(body: ReleaseIn, session: SessionDep, user: CurrentUser) -> Count:
    return Count(
        count=release(session, actor=user, customer_ids=body.customer_ids, note=body.note, now=utcnow())
    )


@router.post("/customers/assign", response_model=Count)
def post_assign(body: AssignIn, session: SessionDep, user: CurrentUser) -> Count:
    count = assign(
        session,
        actor=user,
        customer_ids=body.customer_ids,
        to_user_id=body.to_user_id,
        note=body.note,
        now=utcnow(),
    )
    return Count(count=count)


@router.get("/notifications", response_model=NotificationPage)
def get_notifications(
    session: SessionDep,
    user: CurrentUser,
    unread: bool = False,
    cursor: str | None = Query(default=None, max_length=500),
    limit: int = Query(default=50, ge=1, le=500),
) -> NotificationPage:
    page = list_notifications(session, actor=user, unread_only=unread, cursor=cursor, limit=limit)
    return NotificationPage(items=page.items, next_cursor=page.next_cursor)


@router.post("/notifications/read", response_model=Count)
def post_read(body: ReadIn, session: SessionDep, user: CurrentUser) -> Count:
    return Count(count=mark_read(session, actor=user, ids=body.ids, now=utcnow()))
