"""SMS and call-log collectors: incremental ``content query`` by ``_id``, decoded with ``capture``.

Watermark per device and source: ``{"id": last _id, "date": date of that row}``. Before
reading ``_id > id`` the collector checks that the row ``id`` still has that ``date``; if it
does not (factory reset, a new phone behind the same serial, a restored backup reusing
``_id``s) the watermark is reset and everything is read again — the server's content keys
make the re-sent rows duplicates, never copies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from capture import (
    CALL_LOG_PROJECTION,
    CALL_LOG_URI,
    END_MARKER,
    SMS_PROJECTION,
    SMS_URI,
    CallRecord,
    ContentQueryFormatError,
    ProviderError,
    QueryResult,
    RecordError,
    SmsRecord,
    call_from_row,
    content_query_command,
    parse_content_query,
    sms_from_row,
)
from capture.records import Row
from device_agent.collect.context import Collected, Outcome, SyncContext
from device_agent.errors import DeviceGone
from device_agent.logs import log_event
from device_agent.store import NewItem, Unreadable


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def sms_payload(rec: SmsRecord) -> dict[str, Any]:
    """An :class:`SmsRecord` as the server's ``SmsIn`` JSON."""
    return {
        "source_id": rec.source_id,
        "occurred_at": _iso(rec.occurred_at),
        "thread_id": rec.thread_id,
        "address": rec.address,
        "sent_at": _iso(rec.sent_at),
        "type_code": rec.type_code,
        "body": rec.body,
        "subject": rec.subject,
        "read": rec.read,
        "seen": rec.seen,
        "status": rec.status,
        "subscription_id": rec.subscription_id,
        "service_center": rec.service_center,
        "locked": rec.locked,
        "error_code": rec.error_code,
    }


def call_payload(rec: CallRecord) -> dict[str, Any]:
    """A :class:`CallRecord` as the server's ``CallIn`` JSON."""
    return {
        "source_id": rec.source_id,
        "occurred_at": _iso(rec.occurred_at),
        "number": rec.number,
        "duration": int(rec.duration.total_seconds()),
        "type_code": rec.type_code,
        "name": rec.name,
        "number_type": rec.number_type,
        "number_label": rec.number_label,
        "country_iso": rec.country_iso,
        "geocoded_location": rec.geocoded_location,
        "presentation": None if rec.presentation is None else rec.presentation.value,
        "subscription_id": rec.subscription_id,
    }


@dataclass(frozen=True)
class ProviderSource:
    name: str
    uri: str
    projection: Sequence[str]
    decode: Callable[[Row], Any]
    payload: Callable[[Any], dict[str, Any]]


SMS = ProviderSource("sms", SMS_URI, SMS_PROJECTION, sms_from_row, sms_payload)
CALLS = ProviderSource("calls", CALL_LOG_URI, CALL_LOG_PROJECTION, call_from_row, call_payload)


def query_rows(ctx: SyncContext, uri: str, projection: Sequence[str], where: str | None,
               sort: str = "_id ASC") -> QueryResult:
    """One ``content query`` with an end marker, parsed (``projection`` puts its one free-text column last)."""
    command = content_query_command(uri, projection, where=where, sort=sort)
    return parse_content_query(ctx.phone.shell_raw(command), projection, end_marker=END_MARKER)


def _query(ctx: SyncContext, source: ProviderSource, where: str, projection: Sequence[str]) -> QueryResult:
    return query_rows(ctx, source.uri, projection, where)


def _watermark_holds(ctx: SyncContext, source: ProviderSource, mark: dict[str, Any]) -> bool:
    """True when the row the watermark points at is still the same row (same ``date``)."""
    probe = _query(ctx, source, f"_id = {int(mark['id'])}", ("_id", "date"))
    if probe.truncated:
        raise DeviceGone(f"{ctx.device}: {source.name} check was cut off: {probe.problem}")
    return bool(probe.rows) and probe.rows[0].get("date") == str(mark.get("date"))


def collect_provider(ctx: SyncContext, source: ProviderSource) -> Collected:
    mark = ctx.store.watermark(ctx.device, source.name) or {"id": 0, "date": None}
    try:
        if mark["id"] and not _watermark_holds(ctx, source, mark):
            log_event("agent.sync.watermark_reset", device=ctx.device, source=source.name, last_id=mark["id"])
            ctx.progress(source.name, f"_id {mark['id']} is a different row now: reading everything again")
            mark = {"id": 0, "date": None}
        result = _query(ctx, source, f"_id > {int(mark['id'])}", source.projection)
    except ProviderError as exc:
        outcome = Outcome.REFUSED if exc.permission_denied else Outcome.FAILED
        return Collected(source.name, outcome, detail=f"the phone refused {source.uri}: {exc.reason}")
    except ContentQueryFormatError as exc:
        return Collected(source.name, Outcome.FAILED, detail=f"unreadable output of {source.uri}: {exc}")

    items: list[NewItem] = []
    bad: list[Unreadable] = []
    for row in result.rows:
        key = f"{row.get('_id')}:{row.get('date')}"
        try:
            record = source.decode(row)
        except RecordError as exc:
            bad.append(Unreadable(source.name, key, dict(row), exc.reason, exc.field))
            continue
        items.append(NewItem(source.name, key, source.payload(record)))
    numbered = [row for row in result.rows if (row.get("_id") or "").isdigit()]
    if numbered:
        mark = {"id": int(numbered[-1]["_id"] or 0), "date": numbered[-1].get("date")}
    added = ctx.store.enqueue(ctx.device, items, watermarks={source.name: mark}, unreadable=bad)
    if bad:
        log_event("agent.sync.unreadable_rows", device=ctx.device, source=source.name, count=len(bad))
    ctx.progress(source.name, f"{added} new")
    detail = f"{len(bad)} unreadable row(s) skipped" if bad else ""
    if result.truncated:
        return Collected(source.name, Outcome.CUT, added, f"output cut: {result.problem}")
    return Collected(source.name, Outcome.OK, added, detail)
