"""The customer each alert is about, worked out when it is read: the customer a captured SMS or
recording is linked to now, or whose number a deleted phone-book entry held when it was deleted."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, select

from crm.access import scope
from crm.communications import CONTACT_TABLE, RECORDING_TABLE, SMS_TABLE, CaptureAlert, CapturedSms, Recording
from crm.org import User
from server.ingest.deleted_contacts import customers_of_deleted

# Where a keyword alert's text came from: the captured row's table → its model (which names the customer).
_TEXT_SOURCES = {SMS_TABLE: CapturedSms, RECORDING_TABLE: Recording}


def alert_customers(session: Session, actor: User, alerts: Sequence[CaptureAlert]) -> dict[int, int]:
    """``{alert id: customer id}`` for the alerts about a customer (as far as ``actor`` sees the source)."""
    by_source: dict[tuple[str, int], int] = {
        (CONTACT_TABLE, entry_id): customer_id
        for entry_id, customer_id in customers_of_deleted(
            session, [a.source_id for a in alerts if a.source_table == CONTACT_TABLE]
        ).items()
    }
    for table, model in _TEXT_SOURCES.items():
        ids = [a.source_id for a in alerts if a.source_table == table]
        if ids:
            rows = session.exec(
                scope(select(model.id, model.customer_id), actor, model).where(model.id.in_(ids))  # type: ignore[attr-defined]
            )
            by_source |= {(table, source_id): customer_id for source_id, customer_id in rows if customer_id is not None}
    found = {alert.id: by_source.get((alert.source_table, alert.source_id)) for alert in alerts}
    return {alert_id: customer_id for alert_id, customer_id in found.items() if alert_id and customer_id}
