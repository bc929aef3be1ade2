"""What differs between SMS and call-log ingestion; everything else is the shared pipeline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from crm.communications import CALL_TABLE, SMS_TABLE, CapturedCall, CapturedSms, CaptureSource
from server.ingest.keys import epoch_ms
from server.ingest.records import CallIn, RecordIn, SmsIn

Getter = Callable[[Any], Any]


@dataclass(frozen=True)
class Source:
    name: CaptureSource
    table: str
    model: Any
    schema: type[RecordIn]
    number: Callable[[Any], str | None]
    key_parts: Callable[[Any], tuple[Any, ...]]  # what identifies a record, its time (epoch ms) first
    fields: tuple[tuple[str, Getter], ...]  # the table's own columns and how a record gives each
    time_fields: tuple[str, ...]  # the record's times, checked against the server's clock
    text_column: str | None = None  # scanned by the keyword rules
    # Columns the phone changes in place (not in the key): a re-sent record updates them.
    refreshed: tuple[str, ...] = ()
    matches_recordings: bool = False


def _as_is(*names: str) -> tuple[tuple[str, Getter], ...]:
    return tuple((name, attrgetter(name)) for name in names)


_SMS_FIELDS = (
    *_as_is("source_id", "thread_id", "type", "type_code", "direction", "sent_at"),
    ("body", lambda rec: rec.body or ""),
    *_as_is(
        "subject",
        "read",
        "seen",
        "status",
        "subscription_id",
        "service_center",
        "locked",
        "error_code",
        "raw",
    ),
)

_CALL_FIELDS = (
    *_as_is("source_id", "type", "type_code", "direction"),
    ("duration_s", lambda rec: int(rec.duration.total_seconds())),
    *_as_is(
        "answered",
        "name",
        "number_type",
        "number_label",
        "country_iso",
        "geocoded_location",
        "presentation",
        "subscription_id",
        "raw",
    ),
)

SMS = Source(
    name=CaptureSource.sms,
    table=SMS_TABLE,
    model=CapturedSms,
    schema=SmsIn,
    number=attrgetter("address"),
    key_parts=lambda rec: (epoch_ms(rec.occurred_at), rec.address, rec.body),
    fields=_SMS_FIELDS,
    time_fields=("occurred_at", "sent_at"),
    text_column="body",
    refreshed=("type", "type_code", "status", "error_code", "sent_at"),
)

CALLS = Source(
    name=CaptureSource.call,
    table=CALL_TABLE,
    model=CapturedCall,
    schema=CallIn,
    number=attrgetter("number"),
    key_parts=lambda rec: (
        epoch_ms(rec.occurred_at),
        rec.number,
        int(rec.duration.total_seconds()),
        rec.type_code,
    ),
    fields=_CALL_FIELDS,
    time_fields=("occurred_at",),
    matches_recordings=True,
)
