"""Alerts and timeline events for customers' entries deleted from a company phone's phone book.

A rep who deletes a customer's entry from the company phone (before leaving, or to take the
customer private) is one of the sensitive operations managers want to hear about at once. When a
phone-book deletion arrives, each entry newly marked deleted whose numbers belonged to a customer
of the division at the moment of deletion (the phone book of ``crm.linking``, the rep's own
customers preferred) raises one alert and puts an event on the customer's timeline. Both name the
entry (its name and company), not its numbers; the customer an alert is about is worked out again
when it is shown, by the same function, so a customer merged or a number reassigned since is
reflected there.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from crm.communications import CONTACT_TABLE, AlertStatus, CapturedContact, CapturedContactNumber
from crm.linking import load_phone_book
from crm.types import utcnow

#: What a deletion alert holds in ``keyword``: there is no keyword (see ``CaptureAlert.kind``).
NO_KEYWORD = ""
#: The kind of the customer's timeline event.
TIMELINE_KIND = "contact_deleted"


def customers_of_deleted(session: Session, contact_ids: Collection[int]) -> dict[int, int]:
    """``{entry id: customer id}`` for the given deleted phone-book entries whose numbers belonged to
    a customer when the entry was deleted (the first such number in the entry's order decides)."""
    if not contact_ids:
        return {}
    contact, number = CapturedContact, CapturedContactNumber
    rows = session.execute(
        select(contact.id, contact.division_id, contact.rep_user_id, contact.deleted_at, number.number_e164)
        .join(number, number.contact_id == contact.id)
        .where(contact.id.in_(sorted(contact_ids)), number.number_e164.is_not(None))
        .order_by(contact.id, number.position)
    ).all()
    book = load_phone_book(session, {row.number_e164 for row in rows}, {row.division_id for row in rows})
    found: dict[int, int] = {}
    for row in rows:
        if row.id in found:
            continue
        link = book.resolve(
            division_id=row.division_id,
            e164=row.number_e164,
            at=row.deleted_at or utcnow(),
            rep_user_id=row.rep_user_id,
        )
        if link.primary is not None:
            found[row.id] = link.primary
    return found


@dataclass(frozen=True)
class DeletedCustomerEntry:
    """A phone-book entry just deleted that held a customer's number."""

    id: int
    customer_id: int
    division_id: int
    rep_user_id: int | None
    device_id: int
    label: str  # its name and company, never its numbers
    deleted_at: datetime


def deleted_customer_entries(
    session: Session, contact_ids: Collection[int], now: datetime
) -> list[DeletedCustomerEntry]:
    """Which of the entries just marked deleted held a customer's number (and whose)."""
    customers = customers_of_deleted(session, contact_ids)
    if not customers:
        return []
    rows = session.execute(
        select(
            CapturedContact.id,
            CapturedContact.division_id,
            CapturedContact.rep_user_id,
            CapturedContact.device_id,
            CapturedContact.name,
            CapturedContact.company,
            CapturedContact.deleted_at,
        ).where(CapturedContact.id.in_(sorted(customers)))
    ).all()
    return [
        DeletedCustomerEntry(
            id=row.id,
            customer_id=customers[row.id],
            division_id=row.division_id,
            rep_user_id=row.rep_user_id,
            device_id=row.device_id,
            label=" · ".join(part for part in (row.name, row.company) if part)[:500],
            deleted_at=row.deleted_at or now,
        )
        for row in rows
    ]


def derived_rows(entry: DeletedCustomerEntry, now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """The managers' alert (``capture_alert``) and the customer's timeline event (``timeline_event``)
    of a deleted customer entry: who deleted which entry, when."""
    shared = {
        "division_id": entry.division_id,
        "source_table": CONTACT_TABLE,
        "source_id": entry.id,
        "occurred_at": entry.deleted_at,
        "created_at": now,
    }
    alert = shared | {
        "rep_user_id": entry.rep_user_id,
        "device_id": entry.device_id,
        "keyword": NO_KEYWORD,
        "context": entry.label,
        "status": AlertStatus.open.value,
    }
    event = shared | {
        "customer_id": entry.customer_id,
        "kind": TIMELINE_KIND,
        "actor_user_id": entry.rep_user_id,
        "summary": entry.label,
        "data": {},
    }
    return alert, event
