"""Quotes, contracts and orders with lines; payments; receivables with due dates and ageing.

One table for the three document kinds (they share lines, totals and numbering); a
contract or order that carries ``installments`` creates receivables when it is signed
(contract) or confirmed (order). Payments settle the customer's receivables oldest due
first. A signed contract or confirmed order is a deal: it sets the customer's
``last_deal_at`` (the pool's "days without a deal").
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import Field
from sqlalchemy import JSON, Column, Index, Numeric, String, UniqueConstraint, func
from sqlmodel import Field as SQLField
from sqlmodel import Session, SQLModel, select

from crm.access import get_visible, scope
from crm.actors import is_manager
from crm.customer_service import visible_customer
from crm.customers import Customer
from crm.errors import DomainError, Forbidden, NotFound
from crm.money import MONEY, ZERO, money, money_sum
from crm.org import User
from crm.paging import Page, Sort, fetch_page
from crm.pipeline import Opportunity
from crm.schemas import Input, View
from crm.timeline import add_timeline_event
from crm.types import UTCDateTime


class DocKind(StrEnum):
    quote = "quote"
    contract = "contract"
    order = "order"


STATUSES: dict[DocKind, tuple[str, ...]] = {
    DocKind.quote: ("draft", "sent", "accepted", "rejected"),
    DocKind.contract: ("draft", "signed", "cancelled"),
    DocKind.order: ("draft", "confirmed", "fulfilled", "cancelled"),
}
DEAL_STATUS = {DocKind.contract: "signed", DocKind.order: "confirmed"}
PREFIX = {DocKind.quote: "BJ", DocKind.contract: "HT", DocKind.order: "DD"}
KIND_TEXT = {DocKind.quote: "报价单", DocKind.contract: "合同", DocKind.order: "订单"}


class SalesDocument(SQLModel, table=True):
    __tablename__ = "sales_document"
    __owner_column__ = "owner_id"
    __table_args__ = (
        UniqueConstraint("division_id", "number", name="uq_sales_document_division_number"),
        Index("ix_sales_document_customer", "customer_id", "kind"),
    )

    id: int | None = SQLField(default=None, primary_key=True)
    division_id: int = SQLField(foreign_key="division.id", index=True)
    owner_id: int | None = SQLField(default=None, foreign_key="app_user.id", index=True)
    customer_id: int = SQLField(foreign_key="customer.id")
    opportunity_id: int | None = SQLField(default=None, foreign_key="opportunity.id")
    source_id: int | None = SQLField(
        default=None, foreign_key="sales_document.id", description="Quote → contract → order."
    )
    kind: DocKind = SQLField(sa_type=String(10))
    number: str = SQLField(max_length=32)
    status: str = SQLField(default="draft", sa_type=String(12))
    issued_on: date
    valid_until: date | None = None
    currency: str = SQLField(default="CNY", max_length=3)
    total: Decimal = SQLField(default=ZERO, sa_type=MONEY)
    note: str = SQLField(default="", max_length=2000)
    installments: list[dict[str, str]] = SQLField(
        default_factory=list, sa_column=Column(JSON, nullable=False), description="[{due_on, amount}]"
    )
    created_at: datetime = SQLField(sa_type=UTCDateTime)
    updated_at: datetime = SQLField(sa_type=UTCDateTime)


class SalesDocumentLine(SQLModel, table=True):
    __tablename__ = "sales_document_line"

    id: int | None = SQLField(default=None, primary_key=True)
    document_id: int = SQLField(foreign_key="sales_document.id", index=True)
    position: int
    product: str = SQLField(max_length=200)
    quantity: Decimal = SQLField(sa_type=Numeric(12, 3))
    unit_price: Decimal = SQLField(sa_type=MONEY)
    discount_pct: Decimal = SQLField(default=Decimal(0), sa_type=Numeric(5, 2))
    amount: Decimal = SQLField(sa_type=MONEY)


class Receivable(SQLModel, table=True):
    """Money a customer owes by a date (an installment of a contract or order)."""

    __tablename__ = "receivable"
    __owner_column__ = "owner_id"
    __table_args__ = (Index("ix_receivable_division_open", "division_id", "settled", "due_on"),)

    id: int | None = SQLField(default=None, primary_key=True)
    division_id: int = SQLField(foreign_key="division.id")
    owner_id: int | None = SQLField(default=None, foreign_key="app_user.id", index=True)
    customer_id: int = SQLField(foreign_key="customer.id", index=True)
    document_id: int = SQLField(foreign_key="sales_document.id", index=True)
    due_on: date
    amount: Decimal = SQLField(sa_type=MONEY)
    paid: Decimal = SQLField(default=ZERO, sa_type=MONEY)
    settled: bool = False


class Payment(SQLModel, table=True):
    __tablename__ = "payment"
    __owner_column__ = "owner_id"

    id: int | None = SQLField(default=None, primary_key=True)
    division_id: int = SQLField(foreign_key="division.id", index=True)
    owner_id: int | None = SQLField(default=None, foreign_key="app_user.id", index=True)
    customer_id: int = SQLField(foreign_key="customer.id", index=True)
    document_id: int | None = SQLField(default=None, foreign_key="sales_document.id")
    amount: Decimal = SQLField(sa_type=MONEY)
    received_on: date = SQLField(index=True)
    method: str = SQLField(default="", max_length=30)
    note: str = SQLField(default="", max_length=500)
    recorded_by_user_id: int | None = SQLField(default=None, foreign_key="app_user.id")
    created_at: datetime = SQLField(sa_type=UTCDateTime)


class LineIn(Input):
    product: str = Field(min_length=1, max_length=200)
    quantity: Decimal = Field(gt=0, max_digits=12, decimal_places=3)
    unit_price: Decimal = Field(ge=0, max_digits=14, decimal_places=2)
    discount_pct: Decimal = Field(default=Decimal(0), ge=0, le=100, max_digits=5, decimal_places=2)


class InstallmentIn(Input):
    due_on: date
    amount: Decimal = Field(gt=0, max_digits=14, decimal_places=2)


class DocumentCreate(Input):
    kind: DocKind
    customer_id: int
    opportunity_id: int | None = None
    source_id: int | None = None
    issued_on: date
    valid_until: date | None = None
    note: str = Field(default="", max_length=2000)
    lines: list[LineIn] = Field(min_length=1, max_length=200)
    installments: list[InstallmentIn] = Field(default_factory=list, max_length=60)


class LineView(View):
    position: int
    product: str
    quantity: Decimal
    unit_price: Decimal
    discount_pct: Decimal
    amount: Decimal


class DocumentView(View):
    id: int
    division_id: int
    owner_id: int | None
    customer_id: int
    opportunity_id: int | None
    source_id: int | None
    kind: DocKind
    number: str
    status: str
    issued_on: date
    valid_until: date | None
    total: Decimal
    note: str
    installments: list[dict[str, str]]
    lines: list[LineView] = []


class PaymentIn(Input):
    customer_id: int
    amount: Decimal = Field(gt=0, max_digits=14, decimal_places=2)
    received_on: date
    document_id: int | None = None
    method: str = Field(default="", max_length=30)
    note: str = Field(default="", max_length=500)


class AgeingRow(View):
    bucket: str
    receivables: int
    outstanding: Decimal


AGEING_BUCKETS: tuple[tuple[str, int | None], ...] = (
    ("not_due", 0),
    ("1-30", 30),
    ("31-60", 60),
    ("61-90", 90),
    ("90+", None),
)


def bucket_of(overdue_days: int) -> str:
    for name, upper in AGEING_BUCKETS:
        if upper is None or overdue_days <= upper:
            return name
    raise AssertionError("unreachable")


def line_amount(line: LineIn) -> Decimal:
    return money(line.quantity * line.unit_price * (Decimal(100) - line.discount_pct) / Decimal(100))


def _next_number(session: Session, division_id: int, kind: DocKind, issued_on: date) -> str:
    prefix = f"{PREFIX[kind]}{issued_on:%Y%m}-"
    count = (
        session.scalar(
            select(func.count()).where(
                SalesDocument.division_id == division_id, SalesDocument.number.startswith(prefix)
            )
        )
        or 0
    )
    return f"{prefix}{count + 1:04d}"


def document_view(session: Session, doc: SalesDocument) -> DocumentView:
    view = DocumentView.model_validate(doc)
    view.lines = [
        LineView.model_validate(line)
        for line in session.exec(
            select(SalesDocumentLine)
            .where(SalesDocumentLine.document_id == doc.id)
            .order_by(SalesDocumentLine.position)
        )
    ]
    return view


def create_document(session: Session, *, actor: User, data: DocumentCreate, now: datetime) -> SalesDocument:
    customer = visible_customer(session, actor, data.customer_id)
    if customer.owner_id != actor.id and not is_manager(actor):
        raise Forbidden(
            "the customer belongs to another rep or to the pool",
            field="customer_id",
            code="document.customer_not_yours",
        )
    if data.opportunity_id is not None:
        opp = get_visible(session, actor, Opportunity, data.opportunity_id)
        if opp is None or opp.customer_id != customer.id:
            raise NotFound(
                "no such opportunity of this customer",
                field="opportunity_id",
                code="document.opportunity_not_found",
            )
    if data.source_id is not None:
        source = get_visible(session, actor, SalesDocument, data.source_id)
        if source is None or source.customer_id != customer.id:
            raise NotFound(
                "no such document of this customer", field="source_id", code="document.source_not_found"
            )
    if data.installments and data.kind == DocKind.quote:
        raise DomainError(
            "quotes have no payment plan", field="installments", code="document.quote_no_installments"
        )
    amounts = [line_amount(line) for line in data.lines]
    total = money(sum(amounts, ZERO))
    if data.installments and money(sum((i.amount for i in data.installments), ZERO)) != total:
        raise DomainError(
            f"the installments must add up to the total {total}",
            field="installments",
            code="document.installments_total",
            params={"total": str(total)},
        )
    doc = SalesDocument(
        division_id=customer.division_id,
        owner_id=customer.owner_id or actor.id,
        customer_id=customer.id,  # type: ignore[arg-type]
        opportunity_id=data.opportunity_id,
        source_id=data.source_id,
        kind=data.kind,
        number=_next_number(session, customer.division_id, data.kind, data.issued_on),
        issued_on=data.issued_on,
        valid_until=data.valid_until,
        total=total,
        note=data.note,
        installments=[
            {"due_on": i.due_on.isoformat(), "amount": str(money(i.amount))} for i in data.installments
        ],
        created_at=now,
        updated_at=now,
    )
    session.add(doc)
    session.flush()
    for position, (line, amount) in enumerate(zip(data.lines, amounts, strict=True)):
        session.add(
            SalesDocumentLine(
                document_id=doc.id,  # type: ignore[arg-type]
                position=position,
                product=line.product,
                quantity=line.quantity,
                unit_price=money(line.unit_price),
                discount_pct=line.discount_pct,
                amount=amount,
            )
        )
    session.commit()
    return doc


def set_document_status(
    session: Session, *, actor: User, document_id: int, status: str, now: datetime
) -> SalesDocument:
    """Move a document on; signing a contract or confirming an order is a deal and opens its receivables."""
    doc = get_visible(session, actor, SalesDocument, document_id)
    if doc is None:
        raise NotFound("no such document", field="document_id", code="document.not_found")
    if doc.owner_id != actor.id and not is_manager(actor):
        raise Forbidden("not your document", field="document_id", code="document.not_yours")
    kind = DocKind(doc.kind)
    if status not in STATUSES[kind]:
        raise DomainError(
            f"a {kind} is one of {', '.join(STATUSES[kind])}",
            field="status",
            code="document.status_unknown",
            params={"kind": str(kind), "allowed": ", ".join(STATUSES[kind])},
        )
    if doc.status == status:
        raise DomainError(
            f"the {kind} is {status} already",
            field="status",
            code="document.status_same",
            params={"kind": str(kind), "status": status},
        )
    if doc.status == DEAL_STATUS.get(kind) and status not in ("fulfilled", "cancelled"):
        raise DomainError(
            f"a {doc.status} {kind} can only be fulfilled or cancelled",
            field="status",
            code="document.status_final",
            params={"kind": str(kind), "status": str(doc.status)},
        )
    doc.status, doc.updated_at = status, now
    session.add(doc)
    if status == DEAL_STATUS.get(kind):
        customer = session.get(Customer, doc.customer_id)
        customer.last_deal_at = now  # type: ignore[union-attr]
        session.add(customer)
        for item in doc.installments:
            session.add(
                Receivable(
                    division_id=doc.division_id,
                    owner_id=doc.owner_id,
                    customer_id=doc.customer_id,
                    document_id=doc.id,  # type: ignore[arg-type]
                    due_on=date.fromisoformat(item["due_on"]),
                    amount=Decimal(item["amount"]),
                )
            )
    session.flush()
    add_timeline_event(
        session,
        customer_id=doc.customer_id,
        division_id=doc.division_id,
        occurred_at=now,
        kind=f"{kind}_{status}",
        source_table=SalesDocument.__tablename__,
        source_id=doc.id,  # type: ignore[arg-type]
        actor_user_id=actor.id,
        summary=f"{KIND_TEXT[kind]} {doc.number} {status}, 金额 {doc.total}",
        data={"document_id": doc.id, "total": str(doc.total)},
    )
    session.commit()
    return doc


def _open_receivables(session: Session, customer_id: int, document_id: int | None) -> Iterable[Receivable]:
    stmt = select(Receivable).where(Receivable.customer_id == customer_id, Receivable.settled.is_(False))
    if document_id is not None:
        stmt = stmt.where(Receivable.document_id == document_id)
    return session.exec(stmt.order_by(Receivable.due_on, Receivable.id))


def record_payment(session: Session, *, actor: User, data: PaymentIn, now: datetime) -> Payment:
    """Record money received and settle receivables, oldest due first."""
    customer = visible_customer(session, actor, data.customer_id)
    if data.document_id is not None:
        doc = session.get(SalesDocument, data.document_id)
        if doc is None or doc.customer_id != customer.id:
            raise NotFound(
                "no such document of this customer", field="document_id", code="document.source_not_found"
            )
    payment = Payment(
        division_id=customer.division_id,
        owner_id=customer.owner_id,
        customer_id=customer.id,  # type: ignore[arg-type]
        document_id=data.document_id,
        amount=money(data.amount),
        received_on=data.received_on,
        method=data.method,
        note=data.note,
        recorded_by_user_id=actor.id,
        created_at=now,
    )
    session.add(payment)
    left = payment.amount
    for receivable in _open_receivables(session, customer.id, data.document_id):  # type: ignore[arg-type]
        if left <= 0:
            break
        share = min(left, receivable.amount - receivable.paid)
        receivable.paid = money(receivable.paid + share)
        receivable.settled = receivable.paid >= receivable.amount
        session.add(receivable)
        left -= share
    session.flush()
    add_timeline_event(
        session,
        customer_id=customer.id,  # type: ignore[arg-type]
        division_id=customer.division_id,
        occurred_at=now,
        kind="payment",
        source_table=Payment.__tablename__,
        source_id=payment.id,  # type: ignore[arg-type]
        actor_user_id=actor.id,
        summary=f"回款 {payment.amount} 元" + (f"({payment.method})" if payment.method else ""),
        data={"amount": str(payment.amount), "received_on": data.received_on.isoformat()},
    )
    session.commit()
    return payment


def receivables_ageing(session: Session, *, actor: User, as_of: date) -> list[AgeingRow]:
    """Outstanding receivables the actor may see, by how long they are overdue."""
    totals = {name: [0, ZERO] for name, _ in AGEING_BUCKETS}
    stmt = scope(
        select(Receivable.due_on, Receivable.amount - Receivable.paid).where(Receivable.settled.is_(False)),
        actor,
        Receivable,
    )
    for due_on, outstanding in session.execute(stmt):
        entry = totals[bucket_of((as_of - due_on).days)]
        entry[0] += 1
        entry[1] += money(outstanding)
    return [
        AgeingRow(bucket=name, receivables=n, outstanding=money(amount))
        for name, (n, amount) in totals.items()
    ]


def payments_total(
    session: Session, *, actor: User, start: date, end: date, owner_id: int | None = None
) -> Decimal:
    stmt = scope(select(money_sum(Payment.amount)), actor, Payment).where(
        Payment.received_on >= start, Payment.received_on < end
    )
    if owner_id is not None:
        stmt = stmt.where(Payment.owner_id == owner_id)
    return money(session.scalar(stmt) or 0)


class DocumentFilter(Input):
    customer_id: int | None = None
    kind: DocKind | None = None
    status: str | None = Field(default=None, max_length=12)


SORT = Sort(SalesDocument.id, SalesDocument.id, descending=True)


def list_documents(
    session: Session, *, actor: User, filters: DocumentFilter, cursor: str | None = None, limit: int = 50
) -> Page[DocumentView]:
    stmt = scope(select(SalesDocument), actor, SalesDocument)
    for key in ("customer_id", "kind", "status"):
        if (value := getattr(filters, key)) is not None:
            stmt = stmt.where(getattr(SalesDocument, key) == value)
    page = fetch_page(session, stmt, SORT, cursor=cursor, limit=limit)
    return Page([DocumentView.model_validate(d) for d in page.items], page.next_cursor)


def get_document(session: Session, *, actor: User, document_id: int) -> DocumentView:
    doc = get_visible(session, actor, SalesDocument, document_id)
    if doc is None:
        raise NotFound("no such document", field="document_id", code="document.not_found")
    return document_view(session, doc)
