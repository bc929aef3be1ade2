"""Merging duplicate customers into one, keeping every timeline event, contact, deal and ticket.

Every column of every table that refers to ``customer.id`` is re-pointed to the kept
customer (found from the metadata, so tables added later are covered too); the merged
rows stay, marked ``merged_into_id``, out of every list.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, and_, delete, exists, select, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, SQLModel

from crm.actors import require_manager
from crm.audit import record_audit
from crm.customer_service import visible_customer
from crm.customers import ContactPhone, Customer
from crm.errors import DomainError
from crm.linking import relink_number
from crm.org import User
from crm.timeline import TimelineEvent, add_timeline_event


def _customer_references() -> list[Column]:
    customer_id = Customer.__table__.c.id  # type: ignore[attr-defined]
    refs = []
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            if any(fk.column is customer_id for fk in column.foreign_keys):
                refs.append(column)
    return refs


def _drop_duplicate_events(session: Session, customer_id: int) -> None:
    """A communication linked to two of the merged customers would now show twice."""
    earlier = aliased(TimelineEvent)
    twin = exists().where(
        and_(
            earlier.customer_id == customer_id,
            earlier.source_table == TimelineEvent.source_table,
            earlier.source_id == TimelineEvent.source_id,
            earlier.kind == TimelineEvent.kind,
            earlier.id < TimelineEvent.id,
        )
    )
    duplicate_ids = session.scalars(
        select(TimelineEvent.id).where(TimelineEvent.customer_id == customer_id, twin)
    ).all()
    if duplicate_ids:
        session.execute(delete(TimelineEvent).where(TimelineEvent.id.in_(duplicate_ids)))


def merge_customers(
    session: Session, *, actor: User, keep_id: int, merge_ids: list[int], now: datetime, ip: str = ""
) -> Customer:
    keep = visible_customer(session, actor, keep_id)
    require_manager(actor, keep.division_id)
    others = [visible_customer(session, actor, i) for i in dict.fromkeys(merge_ids) if i != keep_id]
    if not others:
        raise DomainError(
            "name at least one other customer to merge", field="merge_ids", code="merge.need_others"
        )
    if any(o.division_id != keep.division_id for o in others):
        raise DomainError(
            "customers of different divisions cannot be merged",
            field="merge_ids",
            code="merge.cross_division",
        )
    ids = [o.id for o in others]
    for column in _customer_references():
        session.execute(update(column.table).where(column.in_(ids)).values({column.name: keep_id}))
    _drop_duplicate_events(session, keep_id)
    tags = dict.fromkeys(keep.tags)
    for other in others:
        tags.update(dict.fromkeys(other.tags))
        other.merged_into_id = keep_id
        other.updated_at = now
        session.add(other)
        if keep.last_activity_at is None or (
            other.last_activity_at and other.last_activity_at > keep.last_activity_at
        ):
            keep.last_activity_at = other.last_activity_at
        if keep.last_deal_at is None or (other.last_deal_at and other.last_deal_at > keep.last_deal_at):
            keep.last_deal_at = other.last_deal_at
    keep.tags = list(tags)
    keep.updated_at = now
    session.add(keep)
    session.flush()
    numbers = session.scalars(
        select(ContactPhone.e164)
        .where(ContactPhone.customer_id == keep_id, ContactPhone.valid_to.is_(None))
        .distinct()
    ).all()
    for e164 in numbers:
        relink_number(session, e164, now=now)
    add_timeline_event(
        session,
        customer_id=keep_id,
        division_id=keep.division_id,
        occurred_at=now,
        kind="merge",
        source_table="customer",
        source_id=keep_id,
        actor_user_id=actor.id,
        summary="合并客户: " + ", ".join(f"{o.name} (#{o.id})" for o in others),
        data={"merged_ids": ids},
    )
    record_audit(
        session,
        action="customer.merge",
        actor_user_id=actor.id,
        target_type="customer",
        target_id=keep_id,
        division_id=keep.division_id,
        ip=ip,
        detail={"merged_ids": ids},
    )
    session.commit()
    return keep
