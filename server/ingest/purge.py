"""Purging what was captured with a number once it is put on the exclusion list.

The exclusion list keeps content of personal and staff numbers out from then on; this removes
what arrived before: SMS, call-log rows, recordings (their rows, transcripts and alerts; the
file when no other recording has the same content), their timeline events, and the number in
phone books. What stays is what excluded records leave at ingestion: their key in
``excluded_capture`` (so they are still counted, and re-sent records are still answered
``excluded``/``duplicate``), and the count of numbers left out of a phone-book entry.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select, true, update
from sqlmodel import Session

from crm.communications import (
    CALL_TABLE,
    CONTACT_TABLE,
    RECORDING_TABLE,
    SMS_TABLE,
    CaptureAlert,
    CapturedCall,
    CapturedContact,
    CapturedContactNumber,
    CapturedSms,
    CaptureSource,
    ExcludedCapture,
    QuarantinedRecord,
    Recording,
    RecordingUpload,
)
from crm.timeline import TimelineEvent
from server.ingest.keys import untimed_key
from server.ingest.numbers import payload_numbers
from server.ingest.persist import insert_columns

_CHUNK = 500
_SOURCES = ((SMS_TABLE, CapturedSms, CaptureSource.sms), (CALL_TABLE, CapturedCall, CaptureSource.call))


@dataclass
class Purged:
    """What a purge removed (counts by kind) and the stored files no recording refers to any more."""

    counts: Counter[str] = field(default_factory=Counter)
    orphaned_files: list[str] = field(default_factory=list)


def _in_scope(model: Any, division_id: int | None) -> ColumnElement[bool]:
    return true() if division_id is None else model.division_id == division_id


def _chunks(values: list[Any]) -> list[list[Any]]:
    return [values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK)]


def purge_number(
    session: Session, e164: str, division_id: int | None, *, region: str, now: datetime
) -> Purged:
    """Remove what was captured with ``e164`` in ``division_id`` (every division when None); flushes,
    the caller commits (and then deletes :attr:`Purged.orphaned_files` from the store). ``region``
    reads the numbers of quarantined records as ingestion would have."""
    purged = Purged()
    found = {
        table: session.execute(
            select(model.id, model.device_id, model.division_id, model.source_key).where(
                model.number_e164 == e164, _in_scope(model, division_id)
            )
        ).all()
        for table, model, _ in _SOURCES
    }
    call_ids = [row.id for row in found[CALL_TABLE]]
    recordings = session.execute(
        select(
            Recording.id, Recording.device_id, Recording.division_id, Recording.source_key, Recording.sha256
        ).where(
            or_(
                (Recording.number_e164 == e164) & _in_scope(Recording, division_id),
                Recording.call_id.in_(call_ids) if call_ids else Recording.id.is_(None),
            )
        )
    ).all()
    for table, model, source in _SOURCES:
        _remove(session, table, model, source, found[table], now, purged, untimed_key)
    ids = [row.id for row in recordings]
    for chunk in _chunks(ids):
        session.execute(delete(RecordingUpload).where(RecordingUpload.recording_id.in_(chunk)))
    _remove(session, RECORDING_TABLE, Recording, CaptureSource.recording, recordings, now, purged, str)
    for sha256 in sorted({row.sha256 for row in recordings}):
        if not session.execute(select(func.count()).where(Recording.sha256 == sha256)).scalar_one():
            purged.orphaned_files.append(sha256)
    _purge_phone_books(session, e164, division_id, purged)
    _purge_quarantine(session, e164, division_id, region, purged)
    session.flush()
    return purged


def remove_derived(session: Session, source_table: str, ids: Any) -> Counter[str]:
    """Delete the timeline events and alerts derived from the rows ``ids`` (ids or a subquery of them)
    of ``source_table``; how many of each."""
    events = session.execute(
        delete(TimelineEvent).where(TimelineEvent.source_table == source_table, TimelineEvent.source_id.in_(ids))
    )
    alerts = session.execute(
        delete(CaptureAlert).where(CaptureAlert.source_table == source_table, CaptureAlert.source_id.in_(ids))
    )
    return Counter(timeline_events=events.rowcount, alerts=alerts.rowcount)


def _remove(
    session: Session,
    table: str,
    model: Any,
    source: CaptureSource,
    rows: list[Any],
    now: datetime,
    purged: Purged,
    kept_key: Callable[[str], str],
) -> None:
    """Delete captured rows with their events and alerts; keep ``kept_key`` of their keys as excluded
    captures (what ingestion keeps of an excluded record of the same source)."""
    if not rows:
        return
    ids = [row.id for row in rows]
    for chunk in _chunks(ids):
        purged.counts.update(remove_derived(session, table, chunk))
        if model is CapturedCall:  # their recordings are purged next; the foreign key goes first
            session.execute(update(Recording).where(Recording.call_id.in_(chunk)).values(call_id=None))
        session.execute(delete(model).where(model.id.in_(chunk)))
    purged.counts[source.value] += len(rows)
    insert_columns(
        session,
        ExcludedCapture.__table__,
        {
            "device_id": [row.device_id for row in rows],
            "division_id": [row.division_id for row in rows],
            "source": [source.value] * len(rows),
            "source_key": [kept_key(row.source_key) for row in rows],
            "received_at": [now] * len(rows),
        },
        ("device_id", "source", "source_key"),
    )


def _purge_phone_books(session: Session, e164: str, division_id: int | None, purged: Purged) -> None:
    """The number leaves every phone-book entry (counted there); an entry left with no number is removed,
    with its deletion alert and timeline event."""
    number = CapturedContactNumber
    found = session.execute(
        select(number.contact_id, func.count())
        .where(number.number_e164 == e164, _in_scope(number, division_id))
        .group_by(number.contact_id)
    ).all()
    if not found:
        return
    for contact_id, count in found:
        session.execute(
            update(CapturedContact)
            .where(CapturedContact.id == contact_id)
            .values(excluded_numbers=CapturedContact.excluded_numbers + count)
        )
    contact_ids = [contact_id for contact_id, _ in found]
    for chunk in _chunks(contact_ids):
        purged.counts["contact_numbers"] += session.execute(
            delete(number).where(number.number_e164 == e164, number.contact_id.in_(chunk))
        ).rowcount
        emptied = select(CapturedContact.id).where(
            CapturedContact.id.in_(chunk),
            ~select(number.id).where(number.contact_id == CapturedContact.id).exists(),
        )
        purged.counts.update(remove_derived(session, CONTACT_TABLE, emptied))
        purged.counts["contacts"] += session.execute(
            delete(CapturedContact).where(CapturedContact.id.in_(emptied))
        ).rowcount


def _purge_quarantine(
    session: Session, e164: str, division_id: int | None, region: str, purged: Purged
) -> None:
    """Quarantined records with the number are deleted: they keep payloads for managers to look
    into, not personal numbers. Rejected records are few, so their payloads are read and their
    numbers normalised here, in chunks, rather than indexed at ingestion."""
    last = 0
    while True:
        rows = session.execute(
            select(QuarantinedRecord.id, QuarantinedRecord.payload)
            .where(QuarantinedRecord.id > last, _in_scope(QuarantinedRecord, division_id))
            .order_by(QuarantinedRecord.id)
            .limit(_CHUNK)
        ).all()
        if not rows:
            return
        last = rows[-1].id
        holding = [row.id for row in rows if e164 in payload_numbers(row.payload, region)]
        if holding:
            session.execute(delete(QuarantinedRecord).where(QuarantinedRecord.id.in_(holding)))
            purged.counts["quarantined"] += len(holding)
