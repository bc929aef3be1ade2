"""Phone-book ingestion: a company phone's contacts become its rep's phone book on the server.

One row per phone contact ``_id`` (``captured_contact``) holding its latest content, and its
numbers (``captured_contact_number``), normalised like the numbers of calls and SMS. Sending
the same content again changes nothing (``duplicate``); changed content replaces the row and
all its numbers (``accepted``, ``version`` + 1). Numbers on the exclusion list are not stored,
only counted on the entry; an entry whose every number is excluded is not stored at all
(``excluded``; an earlier version of it is removed). A deletion (``deleted``) marks the stored
entry ``deleted_at`` and keeps it, numbers included, out of the phone book (``accepted``;
``duplicate`` when nothing stored was left to delete); the contact sent again with content is
back. A deletion of an entry that held a customer's number raises an alert for the managers and
shows on the customer's timeline (``server.ingest.deleted_contacts``). One transaction per batch.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select, update
from sqlmodel import Session

from capture.phone import NormalisedNumber
from crm.communications import (
    CONTACT_TABLE,
    CapturedContact,
    CapturedContactNumber,
    CaptureSource,
    ExcludedCapture,
)
from crm.linking import write_timeline
from server.ingest.alerts import write_alerts
from server.ingest.deleted_contacts import DeletedCustomerEntry, deleted_customer_entries, derived_rows
from server.ingest.keys import source_key
from server.ingest.numbers import excluded_numbers, normalised
from server.ingest.persist import insert_columns, insert_rows, upsert_changed
from server.ingest.pipeline import (
    STATUSES,
    BatchOutcome,
    IngestContext,
    Rejected,
    decode_batch,
    quarantine,
    quarantine_row,
    record_result,
    source_id_of,
)
from server.ingest.purge import remove_derived
from server.ingest.records import ContactIn
from server.logs import get_logger, log_event

logger = get_logger("ingest")

SOURCE = CaptureSource.contact
TIME_FIELDS = ("updated_at",)
_CHUNK = 500


@dataclass(slots=True)
class Entry:
    index: int
    record: ContactIn
    key: str
    numbers: list[tuple[int, NormalisedNumber]] = field(default_factory=list)  # (position, number)
    excluded: int = 0
    also: list[int] = field(default_factory=list)  # earlier indexes of the batch superseded by this one

    @property
    def wholly_excluded(self) -> bool:
        return self.excluded > 0 and not self.numbers


def content_key(secret: bytes, record: ContactIn) -> str:
    """Keyed hash of what the entry says (name, company, numbers); ``updated_at`` is left out, so an
    entry the phone only touched is still the same."""
    if record.deleted:
        return source_key(secret, SOURCE, "deleted")
    parts: list[object] = [record.name, record.company]
    for number in record.numbers:
        parts += [number.number, number.type, number.label]
    return source_key(secret, SOURCE, *parts)


def _entries(decoded: list[Any], ctx: IngestContext) -> tuple[list[Entry], dict[int, Any]]:
    """Valid entries (the last version of each ``source_id`` in the batch) and the results settled
    already (rejected, repeated)."""
    settled: dict[int, Any] = {}
    by_source: dict[int, Entry] = {}
    for index, record in enumerate(decoded):
        if isinstance(record, Rejected):
            settled[index] = record
            continue
        key = content_key(ctx.secret, record)
        earlier = by_source.get(record.source_id)
        if earlier is not None and earlier.key == key:
            settled[index] = "duplicate"
            continue
        entry = Entry(index, record, key)
        if earlier is not None:  # changed again within the batch: the later version is stored
            entry.also = [*earlier.also, earlier.index]
        by_source[record.source_id] = entry
    return list(by_source.values()), settled


def _normalise(entries: list[Entry], excluded: frozenset[str], region: str) -> None:
    for entry in entries:
        seen: set[str] = set()
        for position, number_in in enumerate(entry.record.numbers):
            number = normalised(number_in.number, region)
            if number.e164 in excluded:
                entry.excluded += 1
                continue
            identity = number.e164 or number.raw
            if identity not in seen:  # the same number twice (as +86… and 1…) is kept once
                seen.add(identity)
                entry.numbers.append((position, number))


def _contact_columns(entries: list[Entry], ctx: IngestContext) -> dict[str, list[Any]]:
    count = len(entries)
    return {
        "device_id": [ctx.device_id] * count,
        "division_id": [ctx.division_id] * count,
        "rep_user_id": [ctx.rep_user_id] * count,
        "source_id": [e.record.source_id for e in entries],
        "name": [e.record.name for e in entries],
        "company": [e.record.company for e in entries],
        "content_key": [e.key for e in entries],
        "version": [1] * count,
        "phone_updated_at": [e.record.updated_at for e in entries],
        "excluded_numbers": [e.excluded for e in entries],
        "received_at": [ctx.now] * count,
        "changed_at": [ctx.now] * count,
    }


_ON_CHANGE = {
    name: f"excluded.{name}"
    for name in (
        "rep_user_id",
        "name",
        "company",
        "content_key",
        "phone_updated_at",
        "excluded_numbers",
        "changed_at",
    )
} | {"version": f"{CapturedContact.__tablename__}.version + 1", "deleted_at": "NULL"}


def _number_rows(entries: list[Entry], ids: dict[int, int], ctx: IngestContext) -> list[dict[str, Any]]:
    rows = []
    for entry in entries:
        contact_id = ids.get(entry.record.source_id)
        if contact_id is None:
            continue
        for position, number in entry.numbers:
            given = entry.record.numbers[position]
            rows.append(
                {
                    "contact_id": contact_id,
                    "device_id": ctx.device_id,
                    "division_id": ctx.division_id,
                    "rep_user_id": ctx.rep_user_id,
                    "position": position,
                    "number_raw": number.raw,
                    "number_e164": number.e164,
                    "number_kind": number.kind.value,
                    "type": given.type,
                    "label": given.label,
                }
            )
    return rows


def _remove_stored(session: Session, ctx: IngestContext, source_ids: list[int]) -> None:
    """Drop stored entries (with their numbers, alerts and timeline events) that are now wholly excluded."""
    contact, numbers = CapturedContact.__table__, CapturedContactNumber.__table__
    for start in range(0, len(source_ids), _CHUNK):
        chunk = source_ids[start : start + _CHUNK]
        ids = select(contact.c.id).where(contact.c.device_id == ctx.device_id, contact.c.source_id.in_(chunk))
        session.execute(delete(numbers).where(numbers.c.contact_id.in_(ids)))
        remove_derived(session, CONTACT_TABLE, ids)
        session.execute(
            delete(contact).where(contact.c.device_id == ctx.device_id, contact.c.source_id.in_(chunk))
        )


def _mark_deleted(session: Session, ctx: IngestContext, deletions: list[Entry]) -> dict[int, int]:
    """Mark stored entries deleted (their numbers stay, out of the phone book); ``{source_id: id}`` of
    those that were not deleted already. One statement per entry: deletions come a few at a time."""
    contact = CapturedContact.__table__
    marked: dict[int, int] = {}
    for entry in deletions:
        statement = (
            update(contact)
            .where(
                contact.c.device_id == ctx.device_id,
                contact.c.source_id == entry.record.source_id,
                contact.c.deleted_at.is_(None),
            )
            .values(
                deleted_at=entry.record.updated_at or ctx.now,
                content_key=entry.key,
                version=contact.c.version + 1,
                changed_at=ctx.now,
            )
            .returning(contact.c.id)
        )
        row_id = session.execute(statement).scalar()
        if row_id is not None:
            marked[entry.record.source_id] = row_id
    return marked


def _deleted_customers(session: Session, ctx: IngestContext, contact_ids: list[int]) -> list[DeletedCustomerEntry]:
    """The entries just deleted that held a customer's number (for alerts and timeline events); a failure
    here is logged and never loses the batch (the reads run in a savepoint, so the transaction stays usable)."""
    if not contact_ids:
        return []
    try:
        with session.begin_nested():
            return deleted_customer_entries(session, contact_ids, ctx.now)
    except Exception as error:  # enrichment must not drop records
        log_event(logger, "ingest.contact.alerts_failed", logging.ERROR, error=repr(error))
        return []


def _replace_numbers(session: Session, rows: list[dict[str, Any]], contact_ids: list[int]) -> None:
    numbers = CapturedContactNumber.__table__
    for start in range(0, len(contact_ids), _CHUNK):
        session.execute(delete(numbers).where(numbers.c.contact_id.in_(contact_ids[start : start + _CHUNK])))
    insert_rows(session, numbers, rows)


def ingest_contacts(session: Session, body: bytes, ctx: IngestContext, max_batch: int) -> BatchOutcome:
    """Run one batch of phone-book entries through decode → dedupe → normalise → exclude → store, and
    commit it; per-record results in input order (the shape of SMS and call batches)."""
    batch = decode_batch(ContactIn, body, ctx, max_batch, TIME_FIELDS)
    decoded = batch.records
    results: list[dict[str, Any]] = [{}] * len(decoded)
    entries, settled = _entries(decoded, ctx)
    rejected_rows = []
    for index, outcome in settled.items():
        if isinstance(outcome, Rejected):
            rejected_rows.append(quarantine_row(ctx, SOURCE, batch.raws[index], outcome))
            results[index] = record_result(
                index, source_id_of(batch.raws[index]), "rejected", reason=outcome.reason, field=outcome.field
            )
        else:
            results[index] = record_result(index, decoded[index].source_id, outcome)

    deletions = [e for e in entries if e.record.deleted]
    entries = [e for e in entries if not e.record.deleted]
    _normalise(entries, excluded_numbers(session, ctx.division_id, ctx.region), ctx.region)
    wholly_excluded = [e for e in entries if e.wholly_excluded]
    kept = [e for e in entries if not e.wholly_excluded]

    changed = upsert_changed(
        session,
        CapturedContact.__table__,
        _contact_columns(kept, ctx),
        conflict=("device_id", "source_id"),
        compare="content_key",
        assignments=_ON_CHANGE,
        key="source_id",
    )
    _replace_numbers(session, _number_rows(kept, changed, ctx), list(changed.values()))
    _remove_stored(session, ctx, [e.record.source_id for e in wholly_excluded])
    marked = _mark_deleted(session, ctx, deletions)
    changed |= marked
    derived = [derived_rows(entry, ctx.now) for entry in _deleted_customers(session, ctx, list(marked.values()))]
    write_alerts(session, [alert for alert, _ in derived])
    write_timeline(session, [event for _, event in derived])
    insert_columns(
        session,
        ExcludedCapture.__table__,
        {
            "device_id": [ctx.device_id] * len(wholly_excluded),
            "division_id": [ctx.division_id] * len(wholly_excluded),
            "source": [SOURCE.value] * len(wholly_excluded),
            "source_key": [e.key for e in wholly_excluded],
            "received_at": [ctx.now] * len(wholly_excluded),
        },
        ("device_id", "source", "source_key"),
    )
    quarantine(session, ctx, rejected_rows)
    session.commit()

    for entry in (*entries, *deletions):
        source_id = entry.record.source_id
        if entry.wholly_excluded:
            status, row_id = "excluded", None
        else:
            row_id = changed.get(source_id)
            status = "duplicate" if row_id is None else "accepted"
        for index in (*entry.also, entry.index):
            results[index] = record_result(index, source_id, status, id=row_id)
    outcome = BatchOutcome(results, Counter(r["status"] for r in results))
    counts = {status: outcome.counts[status] for status in STATUSES}
    log_event(logger, "ingest.contact.batch", device_id=ctx.device_id, records=len(decoded), **counts)
    return outcome
