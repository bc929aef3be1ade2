"""Captured SMS and calls for users: newest first, scoped (``crm.access``), numbers masked for reps
who do not own the customer (or, when unlinked, the phone), and each number not linked to a customer
labelled with the phone's own phone-book name (``phone contact: 张三``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlmodel import Session

from crm.access import scope, sees_full_numbers
from crm.communications import CALL_TABLE, SMS_TABLE, CapturedCall, CapturedSms, LinkStatus
from crm.customers import Customer
from crm.linking import event_content
from crm.org import User
from crm.phones import masked
from crm.schemas import View
from server.ingest.phone_book import phone_contact_labels

Kind = Literal["sms", "call"]
MODELS: dict[str, Any] = {"sms": CapturedSms, "call": CapturedCall}
TABLES = {"sms": SMS_TABLE, "call": CALL_TABLE}


class CommunicationView(View):
    id: int
    kind: Kind
    device_id: int
    rep_user_id: int | None
    occurred_at: datetime
    direction: str
    number: str
    number_kind: str
    link_status: LinkStatus
    customer_id: int | None
    phone_contact: str | None
    summary: str
    data: dict[str, Any]


def list_communications(
    session: Session,
    *,
    actor: User,
    kind: Kind,
    link_status: LinkStatus | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[CommunicationView]:
    model = MODELS[kind]
    stmt = select(model.__table__).order_by(model.id.desc()).limit(limit)
    if link_status is not None:
        stmt = stmt.where(model.link_status == link_status)
    if before_id is not None:
        stmt = stmt.where(model.id < before_id)
    rows = list(session.execute(scope(stmt, actor, model)).mappings())
    customers = {row["customer_id"] for row in rows if row["customer_id"] is not None}
    owner_of = select(Customer.id, Customer.owner_id).where(Customer.id.in_(customers))
    owners: dict[int, int | None] = dict(session.execute(owner_of).all())  # type: ignore[arg-type]
    labels = phone_contact_labels(
        session,
        {
            (row["device_id"], row["number_e164"])
            for row in rows
            if row["number_e164"] and row["link_status"] == LinkStatus.unlinked
        },
    )
    return [_view(row, kind, actor, owners, labels) for row in rows]


def _view(
    row: Any, kind: Kind, actor: User, owners: dict[int, int | None], labels: dict[tuple[int, str], str]
) -> CommunicationView:
    owner = owners.get(row["customer_id"]) if row["customer_id"] is not None else row["rep_user_id"]
    full = sees_full_numbers(actor, owner)
    number = row["number_e164"] or row["number_raw"]
    summary, data = event_content(TABLES[kind], row)
    if not full and number:
        number = masked(number)
        data["number"] = number
    return CommunicationView(
        id=row["id"],
        kind=kind,
        device_id=row["device_id"],
        rep_user_id=row["rep_user_id"],
        occurred_at=row["occurred_at"],
        direction=row["direction"],
        number=number,
        number_kind=row["number_kind"],
        link_status=row["link_status"],
        customer_id=row["customer_id"],
        phone_contact=labels.get((row["device_id"], row["number_e164"])),
        summary=summary,
        data=data,
    )
