"""Alerts for customers' numbers deleted from a company phone's phone book.

A rep who deletes a customer's entry from the company phone (before leaving, or to take the
customer private) is one of the sensitive operations managers want to hear about at once. When a
phone-book deletion arrives, each entry newly marked deleted whose numbers belonged to a customer
of the division at the moment of deletion (the phone book of ``crm.linking``, the rep's own
customers preferred) raises one alert. The alert names the entry (its name and company), not its
numbers; the customer it belonged to is worked out again when the alert is shown, by the same
function, so a customer merged or a number reassigned since is reflected.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from crm.communications import CONTACT_TABLE, AlertStatus, CapturedContact, CapturedContactNumber
from crm.linking import load_phone_book
from crm.types import utcnow

#: What a deletion alert holds in ``keyword``: there is no keyword (see ``CaptureAlert.kind``).
NO_KEYWORD = ""


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


def deletion_alert_rows(session: Session, contact_ids: Collection[int], now: datetime) -> list[dict[str, Any]]:
    """The alerts of entries just marked deleted that held a customer's number."""
    customers = customers_of_deleted(session, contact_ids)
    if not customers:
        return []
    entries = session.execute(
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
        {
            "division_id": entry.division_id,
            "rep_user_id": entry.rep_user_id,
            "device_id": entry.device_id,
            "source_table": CONTACT_TABLE,
            "source_id": entry.id,
            "keyword": NO_KEYWORD,
            "context": " · ".join(part for part in (entry.name, entry.company) if part)[:500],
            "occurred_at": entry.deleted_at or now,
            "status": AlertStatus.open.value,
            "created_at": now,
        }
        for entry in entries
    ]
