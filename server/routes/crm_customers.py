"""Customers, contacts, phones, addresses, duplicate check and merge."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field

from crm.customer_service import (
    AddressIn,
    AddressView,
    ContactIn,
    CustomerCreate,
    CustomerDetail,
    CustomerFilter,
    CustomerSummary,
    CustomerUpdate,
    DuplicateView,
    PhoneIn,
    PhoneView,
    add_contact,
    add_customer_address,
    add_customer_phone,
    check_duplicates,
    create_customer,
    customer_query,
    get_customer,
    list_customers,
    remove_customer_phone,
    update_customer,
)
from crm.export_specs import CUSTOMER_EXPORT
from crm.merge import merge_customers
from crm.types import utcnow
from server.deps import CurrentUser, SessionDep, SettingsDep, client_ip
from server.routes.crm_common import export_response
from server.routes.schemas import Read, Strict

router = APIRouter(prefix="/api/v1", tags=["customers"])


class CustomerPage(Read):
    items: list[CustomerSummary]
    next_cursor: str | None


class ContactPhoneIn(PhoneIn):
    contact_id: int | None = None


class MergeIn(Strict):
    keep_id: int
    merge_ids: list[int] = Field(min_length=1, max_length=50)


def customer_filter(
    q: str | None = Query(default=None, max_length=100),
    grade: Annotated[list[str] | None, Query()] = None,
    tag: str | None = Query(default=None, max_length=50),
    owner_id: int | None = None,
    in_pool: bool | None = None,
    source: str | None = Query(default=None, max_length=64),
    region: str | None = Query(default=None, max_length=64),
    division_id: int | None = None,
) -> CustomerFilter:
    return CustomerFilter(
        q=q,
        grade=grade,
        tag=tag,
        owner_id=owner_id,
        in_pool=in_pool,
        source=source,
        region=region,
        division_id=division_id,
    )


FilterDep = Annotated[CustomerFilter, Depends(customer_filter)]


@router.get("/customers", response_model=CustomerPage)
def get_customers(
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    filters: FilterDep,
    sort: str = "-updated",
    cursor: str | None = Query(default=None, max_length=500),
    limit: int = Query(default=50, ge=1, le=500),
) -> CustomerPage:
    page = list_customers(
        session,
        actor=user,
        filters=filters,
        sort=sort,
        cursor=cursor,
        limit=limit,
        region=settings.default_region,
    )
    return CustomerPage(items=page.items, next_cursor=page.next_cursor)


@router.post("/customers", response_model=CustomerDetail, status_code=201)
def post_customer(
    body: CustomerCreate, request: Request, session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> CustomerDetail:
    customer = create_customer(session, actor=user, data=body, now=utcnow(), region=settings.default_region)
    return get_customer(session, actor=user, customer_id=customer.id, ip=client_ip(request))  # type: ignore[arg-type]


@router.post("/customers/duplicates", response_model=list[DuplicateView])
def post_duplicate_check(
    body: CustomerCreate, session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> list[DuplicateView]:
    return check_duplicates(session, actor=user, data=body, region=settings.default_region)


@router.get("/customers/export")
def export_customers(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    filters: FilterDep,
    format: str = "xlsx",
) -> Response:
    return export_response(
        request,
        session,
        user,
        settings,
        kind="customers",
        spec=CUSTOMER_EXPORT,
        statement=customer_query(session, user, filters, region=settings.default_region),
        format=format,
        filters=filters,
    )


@router.get("/customers/{customer_id}", response_model=CustomerDetail)
def get_one_customer(
    customer_id: int, request: Request, session: SessionDep, user: CurrentUser
) -> CustomerDetail:
    return get_customer(session, actor=user, customer_id=customer_id, ip=client_ip(request))


@router.patch("/customers/{customer_id}", response_model=CustomerDetail)
def patch_customer(
    customer_id: int, body: CustomerUpdate, request: Request, session: SessionDep, user: CurrentUser
) -> CustomerDetail:
    update_customer(session, actor=user, customer_id=customer_id, data=body, now=utcnow())
    return get_customer(session, actor=user, customer_id=customer_id, ip=client_ip(request))


@router.post("/customers/{customer_id}/contacts", status_code=201)
def post_contact(
    customer_id: int, body: ContactIn, session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> dict[str, int]:
    contact = add_contact(
        session, actor=user, customer_id=customer_id, data=body, now=utcnow(), region=settings.default_region
    )
    return {"id": contact.id}  # type: ignore[dict-item]


@router.post("/customers/{customer_id}/phones", response_model=PhoneView, status_code=201)
def post_phone(
    customer_id: int, body: ContactPhoneIn, session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> PhoneView:
    phone = add_customer_phone(
        session,
        actor=user,
        customer_id=customer_id,
        data=PhoneIn(number=body.number, label=body.label),
        contact_id=body.contact_id,
        now=utcnow(),
        region=settings.default_region,
    )
    return PhoneView(id=phone.id, number=phone.e164, label=body.label, contact_id=phone.contact_id)  # type: ignore[arg-type]


@router.delete("/customers/{customer_id}/phones/{phone_id}", status_code=204)
def delete_phone(customer_id: int, phone_id: int, session: SessionDep, user: CurrentUser) -> None:
    remove_customer_phone(session, actor=user, customer_id=customer_id, phone_id=phone_id, now=utcnow())


@router.post("/customers/{customer_id}/addresses", response_model=AddressView, status_code=201)
def post_address(customer_id: int, body: AddressIn, session: SessionDep, user: CurrentUser) -> AddressView:
    address = add_customer_address(session, actor=user, customer_id=customer_id, data=body, now=utcnow())
    return AddressView.model_validate(address)


@router.post("/customers/merge", response_model=CustomerDetail)
def post_merge(body: MergeIn, request: Request, session: SessionDep, user: CurrentUser) -> CustomerDetail:
    merge_customers(
        session,
        actor=user,
        keep_id=body.keep_id,
        merge_ids=body.merge_ids,
        now=utcnow(),
        ip=client_ip(request),
    )
    return get_customer(session, actor=user, customer_id=body.keep_id, ip=client_ip(request))
