"""Quotes → contracts → orders with lines, payments settling receivables, and ageing."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from crm.customers import Customer
from crm.errors import DomainError, Forbidden, NotFound
from crm.sales_docs import (
    DocumentCreate,
    PaymentIn,
    Receivable,
    create_document,
    get_document,
    receivables_ageing,
    record_payment,
    set_document_status,
)
from crm.timeline import TimelineEvent
from tests.crm.conftest import NOW, Org, make_customer

LINES = [
    {"product": "数控机床 X200", "quantity": "2", "unit_price": "150000.00", "discount_pct": "10"},
    {"product": "安装调试", "quantity": "1", "unit_price": "8000.00"},
]


def _doc(session: Session, org: Org, customer: Customer, kind: str, **kw: object):  # type: ignore[no-untyped-def]
    data = DocumentCreate(kind=kind, customer_id=customer.id, issued_on=date(2026, 3, 2), lines=LINES, **kw)  # type: ignore[arg-type]
    return create_document(session, actor=org.rep1, data=data, now=NOW)


def test_documents_with_lines_and_numbering(session: Session, org: Org) -> None:
    customer = make_customer(session, org.rep1, "客户")
    pool = make_customer(session, org.head, "公海客户", to_pool=True)
    quote = _doc(session, org, customer, "quote")
    assert (quote.number, quote.total) == ("BJ202603-0001", Decimal("278000.00"))
    assert _doc(session, org, customer, "quote").number == "BJ202603-0002"
    view = get_document(session, actor=org.rep1, document_id=quote.id)
    assert [(line.product, line.amount) for line in view.lines] == [
        ("数控机床 X200", Decimal("270000.00")),
        ("安装调试", Decimal("8000.00")),
    ]
    with pytest.raises(DomainError):
        _doc(session, org, customer, "quote", installments=[{"due_on": "2026-04-01", "amount": "278000"}])
    with pytest.raises(DomainError):
        _doc(session, org, customer, "contract", installments=[{"due_on": "2026-04-01", "amount": "1000"}])
    with pytest.raises(DomainError):
        set_document_status(session, actor=org.rep1, document_id=quote.id, status="signed", now=NOW)
    with pytest.raises(NotFound):  # rep2 does not see rep1's quote
        set_document_status(session, actor=org.rep2, document_id=quote.id, status="sent", now=NOW)
    with pytest.raises(Forbidden):  # nor quote for rep1's customer (the pool's, at most)
        create_document(
            session,
            actor=org.rep2,
            data=DocumentCreate(kind="quote", customer_id=pool.id, issued_on=date(2026, 3, 2), lines=LINES),  # type: ignore[arg-type]
            now=NOW,
        )


def test_signed_contract_is_a_deal_with_receivables_paid_oldest_first(session: Session, org: Org) -> None:
    customer = make_customer(session, org.rep1, "客户")
    contract = _doc(
        session,
        org,
        customer,
        "contract",
        installments=[
            {"due_on": "2026-03-10", "amount": "100000"},
            {"due_on": "2026-04-10", "amount": "100000"},
            {"due_on": "2026-06-30", "amount": "78000"},
        ],
    )
    signed_at = NOW + timedelta(days=1)
    set_document_status(session, actor=org.rep1, document_id=contract.id, status="signed", now=signed_at)
    assert session.get(Customer, customer.id).last_deal_at == signed_at
    record_payment(
        session,
        actor=org.rep1,
        data=PaymentIn(
            customer_id=customer.id,
            amount=Decimal("150000"),
            received_on=date(2026, 3, 12),
            method="银行转账",
        ),
        now=NOW,
    )
    receivables = session.exec(select(Receivable).order_by(Receivable.due_on)).all()
    assert [(r.paid, r.settled) for r in receivables] == [
        (Decimal("100000.00"), True),
        (Decimal("50000.00"), False),
        (Decimal("0.00"), False),
    ]
    ageing = {
        row.bucket: (row.receivables, row.outstanding)
        for row in receivables_ageing(session, actor=org.head, as_of=date(2026, 5, 20))
    }
    assert ageing == {
        "not_due": (1, Decimal("78000.00")),
        "1-30": (0, Decimal("0.00")),
        "31-60": (1, Decimal("50000.00")),
        "61-90": (0, Decimal("0.00")),
        "90+": (0, Decimal("0.00")),
    }
    assert all(
        row.receivables == 0 for row in receivables_ageing(session, actor=org.head_b, as_of=date(2026, 5, 20))
    )
    kinds = session.exec(select(TimelineEvent.kind).where(TimelineEvent.customer_id == customer.id)).all()
    assert {"contract_signed", "payment"} <= set(kinds)


def test_sales_documents_over_http(client, factory, session: Session, org: Org) -> None:  # type: ignore[no-untyped-def]
    customer = make_customer(session, org.rep1, "客户")
    headers = factory.headers(org.rep1)
    body = {
        "kind": "order",
        "customer_id": customer.id,
        "issued_on": "2026-03-02",
        "lines": LINES,
        "installments": [{"due_on": "2026-03-31", "amount": "278000"}],
    }
    created = client.post("/api/v1/sales-documents", json=body, headers=headers)
    assert created.status_code == 201 and created.json()["total"] == "278000.00"
    doc_id = created.json()["id"]
    confirmed = client.post(
        f"/api/v1/sales-documents/{doc_id}/status", json={"status": "confirmed"}, headers=headers
    )
    assert confirmed.status_code == 200
    paid = client.post(
        "/api/v1/payments",
        json={"customer_id": customer.id, "amount": "278000", "received_on": "2026-03-20"},
        headers=headers,
    )
    assert paid.status_code == 201
    ageing = client.get(
        "/api/v1/receivables/ageing?as_of=2026-04-30", headers=factory.headers(org.head)
    ).json()
    assert sum(row["receivables"] for row in ageing) == 0
    bad = client.post(
        "/api/v1/sales-documents",
        json={**body, "lines": [{"product": "x", "quantity": "-1", "unit_price": "1"}]},
        headers=headers,
    )
    assert bad.status_code == 422
    assert client.get("/api/v1/sales-documents", headers=factory.headers(org.rep2)).json()["items"] == []
