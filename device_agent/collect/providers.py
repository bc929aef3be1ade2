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
from dataclasses import dataclass, field
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
#: Rows per outbox transaction (with their watermark): the upload starts on the first ones while the
#: rest is decoded.
CHUNK_ROWS = 2000

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


@dataclass
class _Rows:
    """Turns rows into outbox items chunk by chunk and knows the watermark of what it has turned."""

    source: ProviderSource
    start: int  # rows up to this _id were read before
    date: str | None
    unseen: dict[str, str]  # watched rows (``_id`` → type) not met yet in this read
    since_ms: int  # rows dated before this are no longer watched
    last: int = 0
    watch: dict[str, str] = field(default_factory=dict)

    def take(self, rows: list[Row]) -> tuple[list[NewItem], list[Unreadable]]:
        items: list[NewItem] = []
        bad: list[Unreadable] = []
        name, decode, payload, unsettled = self.source.name, self.source.decode, self.source.payload, \
            self.source.unsettled_types
        for row in rows:
            text_id, date, kind = row.get("_id") or "", row.get("date"), row.get("type")
            key = f"{text_id}:{date}"
            if text_id.isdigit():
                before = self.unseen.pop(text_id, None)
                if kind in unsettled and date and date.isdigit() and int(date) >= self.since_ms:
                    self.watch[text_id] = kind  # type: ignore[assignment]
                if int(text_id) <= self.start:
                    if before is None or before == kind:
                        continue  # the watermark row, or a watched row that has not changed
                    key = f"{key}:{kind}"  # a new version of a row sent before
                else:
                    self.last, self.date = int(text_id), date
            try:
                record = decode(row)
            except RecordError as exc:
                bad.append(Unreadable(name, key, dict(row), exc.reason, exc.field))
                continue
            items.append(NewItem(name, key, payload(record)))
        return items, bad

    def mark(self, complete: bool) -> dict[str, Any]:
        """The watermark after the rows taken; until the read is complete, unmet watched rows stay watched."""
        watch = self.watch if complete else {**self.unseen, **self.watch}
        return {"id": max(self.last, self.start), "date": self.date, **({"watch": watch} if watch else {})}


def collect_provider(ctx: SyncContext, source: ProviderSource) -> Collected:
    mark = ctx.store.watermark(ctx.device, source.name) or {"id": 0, "date": None}
    try:
        result, mark = _read(ctx, source, mark)
    except ProviderError as exc:
        outcome = Outcome.REFUSED if exc.permission_denied else Outcome.FAILED
        return Collected(source.name, outcome, detail=f"the phone refused {source.uri}: {exc.reason}")
    except ContentQueryFormatError as exc:
        return Collected(source.name, Outcome.FAILED, detail=f"unreadable output of {source.uri}: {exc}")

    phone_now = ctx.clocks.phone or ctx.clocks.host
    taker = _Rows(source, int(mark["id"]), mark["date"], dict(mark.get("watch", {})),
                  int(phone_now.timestamp() * 1000) - WATCH_MS)
    rows = result.rows
    added = unreadable = 0
    for begin in range(0, max(len(rows), 1), CHUNK_ROWS):
        items, bad = taker.take(rows[begin:begin + CHUNK_ROWS])
        complete = begin + CHUNK_ROWS >= len(rows) and not result.truncated
        added += ctx.store.enqueue(ctx.device, items, watermarks={source.name: taker.mark(complete)}, unreadable=bad)
        unreadable += len(bad)
        ctx.progress(source.name, f"{added} new")
    if unreadable:
        log_event("agent.sync.unreadable_rows", device=ctx.device, source=source.name, count=unreadable)
    if result.truncated:
        return Collected(source.name, Outcome.CUT, added, f"output cut: {result.problem}")
    return Collected(source.name, Outcome.OK, added, f"{unreadable} unreadable row(s) skipped" if unreadable else "")
