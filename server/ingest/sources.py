"""What differs between SMS and call-log ingestion; everything else is the shared pipeline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crm.communications import CALL_TABLE, SMS_TABLE, CapturedCall, CapturedSms, CaptureSource
from server.ingest.keys import epoch_ms
from server.ingest.records import CallIn, RecordIn, SmsIn


@dataclass(frozen=True)
class Source:
    name: CaptureSource
    table: str
    model: Any
    schema: type[RecordIn]
    number: Callable[[Any], str | None]
    key_parts: Callable[[Any], tuple[object, ...]]
    columns: Callable[[Any], dict[str, Any]]
    text_column: str | None = None  # scanned by the keyword rules
    matches_recordings: bool = False


def _sms_columns(rec: SmsIn) -> dict[str, Any]:
    return {
        "source_id": rec.source_id,
        "thread_id": rec.thread_id,
        "type": rec.type,
        "type_code": rec.type_code,
        "direction": rec.direction,
        "sent_at": rec.sent_at,
        "body": rec.body or "",
        "subject": rec.subject,
        "read": rec.read,
        "seen": rec.seen,
        "status": rec.status,
        "subscription_id": rec.subscription_id,
        "service_center": rec.service_center,
        "locked": rec.locked,
        "error_code": rec.error_code,
        "raw": rec.raw,
    }


def _call_columns(rec: CallIn) -> dict[str, Any]:
    return {
        "source_id": rec.source_id,
        "type": rec.type,
        "type_code": rec.type_code,
        "direction": rec.direction,
        "duration_s": int(rec.duration.total_seconds()),
        "answered": rec.answered,
        "name": rec.name,
        "number_type": rec.number_type,
        "number_label": rec.number_label,
        "country_iso": rec.country_iso,
        "geocoded_location": rec.geocoded_location,
        "presentation": rec.presentation,
        "subscription_id": rec.subscription_id,
        "raw": rec.raw,
    }


SMS = Source(
    name=CaptureSource.sms,
    table=SMS_TABLE,
    model=CapturedSms,
    schema=SmsIn,
    number=lambda rec: rec.address,
    key_parts=lambda rec: (epoch_ms(rec.occurred_at), rec.address, rec.body),
    columns=_sms_columns,
    text_column="body",
)

CALLS = Source(
    name=CaptureSource.call,
    table=CALL_TABLE,
    model=CapturedCall,
    schema=CallIn,
    number=lambda rec: rec.number,
    key_parts=lambda rec: (
        epoch_ms(rec.occurred_at),
        rec.number,
        int(rec.duration.total_seconds()),
        rec.type_code,
    ),
    columns=_call_columns,
    matches_recordings=True,
)
