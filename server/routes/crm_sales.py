"""Quotes, contracts and orders; payments; receivables ageing."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from crm.sales_docs import (
    AgeingRow,
    DocumentCreate,
    DocumentFilter,
    DocumentView,
    PaymentIn,
    create_document,
    document_view,
    get_document,
    list_documents,
    receivables_ageing,
    record_payment,
    set_document_status,
)
from crm.types import utcnow
from server.deps import CurrentUser, SessionDep, query_filters
from server.routes.schemas import Read, Strict

router = APIRouter(prefix="/api/v1", tags=["sales documents"])


class StatusIn(Strict):
    status: str = Field(min_length=1, max_length=12)


class DocumentPage(Read):
    items: list[DocumentView]
    next_cursor: str | None


class PaymentOut(Read):
    id: int
    customer_id: int
    amount: str
    received_on: date


@router.get("/sales-documents", response_model=DocumentPage)
def get_documents(
    session: SessionDep,
    user: CurrentUser,
    filters: Annotated[DocumentFilter, query_filters(DocumentFilter)],
    cursor: str | None = Query(default=None, max_length=500),
    limit: int = Query(default=50, ge=1, le=500),
) -> DocumentPage:
    page = list_documents(session, actor=user, filters=filters, cursor=cursor, limit=limit)
    return DocumentPage(items=page.items, next_cursor=page.next_cursor)


@router.post("/sales-documents", response_model=DocumentView, status_code=201)
def post_document(body: DocumentCreate, session: SessionDep, user: CurrentUser) -> DocumentView:
    return document_view(session, create_document(session, actor=user, data=body, now=utcnow()))


@router.get("/sales-documents/{document_id}", response_model=DocumentView)
def get_one_document(document_id: int, session: SessionDep, user: CurrentUser) -> DocumentView:
    return get_document(session, actor=user, document_id=document_id)


@router.post("/sales-documents/{document_id}/status", response_model=DocumentView)
def post_status(document_id: int, body: StatusIn, session: SessionDep, user: CurrentUser) -> DocumentView:
    doc = set_document_status(session, actor=user, document_id=document_id, status=body.status, now=utcnow())
    return document_view(session, doc)


@router.post("/payments", response_model=PaymentOut, status_code=201)
def post_payment(body: PaymentIn, session: SessionDep, user: CurrentUser) -> PaymentOut:
    payment = record_payment(session, actor=user, data=body, now=utcnow())
    return PaymentOut(
        id=payment.id,
        customer_id=payment.customer_id,
        amount=str(payment.amount),
        received_on=payment.received_on,  # type: ignore[arg-type]
    )


@router.get("/receivables/ageing", response_model=list[AgeingRow])
def get_ageing(session: SessionDep, user: CurrentUser, as_of: date | None = None) -> list[AgeingRow]:
    return receivables_ageing(session, actor=user, as_of=as_of or utcnow().date())
