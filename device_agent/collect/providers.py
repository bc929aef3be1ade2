"""SMS and call-log collectors: incremental ``content query`` by ``_id``, decoded with ``capture``.

Watermark per device and source: ``{"id": last _id, "date": date of that row, "watch": {_id: type}}``.
One query reads ``_id >= id OR _id IN (watched)``. Row ``id`` must still have that ``date``;
if it does not (factory reset, a new phone behind the same serial, a restored backup reusing
``_id``s) the watermark is reset and everything is read again — the server's content keys
make the re-sent rows duplicates, never copies.

An SMS changes in place while it is on its way (outbox/queued → sent or failed; a failed one
may be retried): rows of those types are watched — read again by ``_id`` in the same query —
until their type settles or for a week of the phone's clock; a changed row is queued again
(item key with the new type).
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
    unsettled_types: frozenset[str] = frozenset()
    """``type`` values of rows that may still change in place; such rows are read again until they settle."""


#: SMS on their way (``Sms.moveMessageToFolder``): 4 outbox, 6 queued, and 5 failed (a retry sends it again).
UNSETTLED_SMS_TYPES = frozenset({"4", "5", "6"})
#: How long (phone clock, from the row's ``date``) such a row is watched; after that it stays as last read.
WATCH_MS = 7 * 86_400_000

SMS = ProviderSource("sms", SMS_URI, SMS_PROJECTION, sms_from_row, sms_payload, UNSETTLED_SMS_TYPES)
CALLS = ProviderSource("calls", CALL_LOG_URI, CALL_LOG_PROJECTION, call_from_row, call_payload)


def query_rows(ctx: SyncContext, uri: str, projection: Sequence[str], where: str | None,
               sort: str = "_id ASC") -> QueryResult:
    """One ``content query`` with an end marker, parsed (``projection`` puts its one free-text column last)."""
    command = content_query_command(uri, projection, where=where, sort=sort)
    return parse_content_query(ctx.phone.shell_raw(command), projection, end_marker=END_MARKER)


def _query(ctx: SyncContext, source: ProviderSource, where: str, projection: Sequence[str]) -> QueryResult:
    return query_rows(ctx, source.uri, projection, where)


def _where(mark: dict[str, Any]) -> str:
    """Rows after the watermark, the watermark row itself (to check it) and the rows still watched."""
    last = int(mark["id"])
    where = f"_id >= {last}" if last else "_id > 0"
    watched = sorted(int(i) for i in mark.get("watch", {}))
    if watched:
        where += f" OR _id IN ({', '.join(map(str, watched))})"
    return where


def _row_id(row: Row) -> int | None:
    value = row.get("_id") or ""
    return int(value) if value.isdigit() else None


def _holds(result: QueryResult, mark: dict[str, Any]) -> bool | None:
    """Whether row ``id`` is still the row the watermark remembers (same ``date``); None when the output
    was cut before it could tell."""
    row = next((r for r in result.rows if _row_id(r) == int(mark["id"])), None)
    if row is None and result.truncated:
        return None
    return row is not None and row.get("date") == str(mark.get("date"))


def _read(ctx: SyncContext, source: ProviderSource, mark: dict[str, Any]) -> tuple[QueryResult, dict[str, Any]]:
    """One query in the usual case; everything again when the watermark row is another row now."""
    result = _query(ctx, source, _where(mark), source.projection)
    if not mark["id"]:
        return result, mark
    holds = _holds(result, mark)
    if holds is None:
        raise DeviceGone(f"{ctx.device}: {source.name} read was cut off before row {mark['id']}: {result.problem}")
    if holds:
        return result, mark
    log_event("agent.sync.watermark_reset", device=ctx.device, source=source.name, last_id=mark["id"])
    ctx.progress(source.name, f"_id {mark['id']} is a different row now: reading everything again")
    fresh = {"id": 0, "date": None}
    return _query(ctx, source, _where(fresh), source.projection), fresh


def _watch(source: ProviderSource, rows: list[Row], watched: dict[str, str], since_ms: int,
           truncated: bool) -> dict[str, str]:
    """Rows whose type may still change (outbox → sent), with the type read; those not seen in a cut
    output are kept, deleted rows and rows older than ``since_ms`` dropped."""
    seen = {str(_row_id(r)) for r in rows}
    watch = {k: v for k, v in watched.items() if truncated and k not in seen}
    for row in rows:
        date = row.get("date") or ""
        if row.get("type") in source.unsettled_types and date.isdigit() and int(date) >= since_ms:
            watch[str(_row_id(row))] = str(row["type"])
    return watch


def collect_provider(ctx: SyncContext, source: ProviderSource) -> Collected:
    mark = ctx.store.watermark(ctx.device, source.name) or {"id": 0, "date": None}
    try:
        result, mark = _read(ctx, source, mark)
    except ProviderError as exc:
        outcome = Outcome.REFUSED if exc.permission_denied else Outcome.FAILED
        return Collected(source.name, outcome, detail=f"the phone refused {source.uri}: {exc.reason}")
    except ContentQueryFormatError as exc:
        return Collected(source.name, Outcome.FAILED, detail=f"unreadable output of {source.uri}: {exc}")

    last = int(mark["id"])
    watched: dict[str, str] = mark.get("watch", {})
    items: list[NewItem] = []
    bad: list[Unreadable] = []
    new_rows: list[Row] = []
    for row in result.rows:
        row_id = _row_id(row)
        if row_id is not None and row_id <= last:
            if watched.get(str(row_id), row.get("type")) == row.get("type"):
                continue  # the watermark row, or a watched row that has not changed
            key = f"{row_id}:{row.get('date')}:{row.get('type')}"  # a new version of a row sent before
        else:
            new_rows.append(row)
            key = f"{row.get('_id')}:{row.get('date')}"
        try:
            record = source.decode(row)
        except RecordError as exc:
            bad.append(Unreadable(source.name, key, dict(row), exc.reason, exc.field))
            continue
        items.append(NewItem(source.name, key, source.payload(record)))
    numbered = [row for row in new_rows if _row_id(row) is not None]
    if numbered:
        mark = {"id": _row_id(numbered[-1]), "date": numbered[-1].get("date")}
    phone_now = ctx.clocks.phone or ctx.clocks.host
    watch = _watch(source, result.rows, watched, int(phone_now.timestamp() * 1000) - WATCH_MS, result.truncated)
    mark = {"id": mark["id"], "date": mark["date"], **({"watch": watch} if watch else {})}
    added = ctx.store.enqueue(ctx.device, items, watermarks={source.name: mark}, unreadable=bad)
    if bad:
        log_event("agent.sync.unreadable_rows", device=ctx.device, source=source.name, count=len(bad))
    ctx.progress(source.name, f"{added} new")
    detail = f"{len(bad)} unreadable row(s) skipped" if bad else ""
    if result.truncated:
        return Collected(source.name, Outcome.CUT, added, f"output cut: {result.problem}")
    return Collected(source.name, Outcome.OK, added, detail)
