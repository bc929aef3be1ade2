"""Typed SMS and call-log records from ``content query`` rows.

A bad value raises :class:`RecordError` for that row only; the batch helpers
(:func:`decode_sms_rows`, :func:`decode_call_rows`) collect those errors next to
the good records so that one broken row never loses the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Generic, TypeVar

from capture.errors import RecordError
from capture.timeconv import EPOCH, MAX_EPOCH_MS, from_epoch_ms

Row = Mapping[str, str | None]
T = TypeVar("T")


class Direction(StrEnum):
    INCOMING = "incoming"
    OUTGOING = "outgoing"
    UNKNOWN = "unknown"


class SmsType(StrEnum):
    """``type`` column of ``content://sms`` (1..6)."""

    INBOX = "inbox"
    SENT = "sent"
    DRAFT = "draft"
    OUTBOX = "outbox"
    FAILED = "failed"
    QUEUED = "queued"
    UNKNOWN = "unknown"


class CallType(StrEnum):
    """``type`` column of ``content://call_log/calls`` (1..7)."""

    INCOMING = "incoming"
    OUTGOING = "outgoing"
    MISSED = "missed"
    VOICEMAIL = "voicemail"
    REJECTED = "rejected"
    BLOCKED = "blocked"
    ANSWERED_EXTERNALLY = "answered_externally"
    UNKNOWN = "unknown"


class Presentation(StrEnum):
    """Whether the caller's number was shown (``presentation`` column)."""

    ALLOWED = "allowed"
    RESTRICTED = "restricted"
    UNKNOWN = "unknown"
    PAYPHONE = "payphone"


SMS_TYPES = {1: SmsType.INBOX, 2: SmsType.SENT, 3: SmsType.DRAFT, 4: SmsType.OUTBOX, 5: SmsType.FAILED,
             6: SmsType.QUEUED}
CALL_TYPES = {1: CallType.INCOMING, 2: CallType.OUTGOING, 3: CallType.MISSED, 4: CallType.VOICEMAIL,
              5: CallType.REJECTED, 6: CallType.BLOCKED, 7: CallType.ANSWERED_EXTERNALLY}
PRESENTATIONS = {1: Presentation.ALLOWED, 2: Presentation.RESTRICTED, 3: Presentation.UNKNOWN,
                 4: Presentation.PAYPHONE}
_INCOMING_CALLS = {CallType.INCOMING, CallType.MISSED, CallType.VOICEMAIL, CallType.REJECTED,
                   CallType.BLOCKED, CallType.ANSWERED_EXTERNALLY}
_ANSWERABLE_CALLS = (CallType.INCOMING, CallType.OUTGOING, CallType.ANSWERED_EXTERNALLY)
#: Flag columns as phones print them; any other text goes through the checked decoder.
_FLAGS: dict[str | None, bool | None] = {None: None, "": None, "0": False, "1": True}
#: The longest duration a timedelta holds: beyond it a corrupt row raised OverflowError, which
#: stopped the whole read instead of setting that one row aside.
_MAX_SECONDS = int(timedelta.max.total_seconds())
#: What the fast decoders raise for a row they leave to the checked ones.
_UNUSUAL = (KeyError, TypeError, ValueError)


def sms_direction(sms_type: SmsType) -> Direction:
    if sms_type is SmsType.INBOX:
        return Direction.INCOMING
    if sms_type is SmsType.UNKNOWN:
        return Direction.UNKNOWN
    return Direction.OUTGOING


def call_direction(call_type: CallType) -> Direction:
    if call_type is CallType.OUTGOING:
        return Direction.OUTGOING
    return Direction.INCOMING if call_type in _INCOMING_CALLS else Direction.UNKNOWN


@dataclass(frozen=True, slots=True)
class SmsRecord:
    """One row of ``content://sms``. ``address`` is the raw number as the phone stored it."""

    source_id: int
    thread_id: int | None
    address: str | None
    occurred_at: datetime
    sent_at: datetime | None
    type: SmsType
    type_code: int
    direction: Direction
    body: str | None
    subject: str | None
    read: bool | None
    seen: bool | None
    status: int | None
    subscription_id: int | None
    service_center: str | None
    locked: bool | None
    error_code: int | None


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One row of ``content://call_log/calls``. ``number`` is raw (may be empty when hidden)."""

    source_id: int
    number: str | None
    occurred_at: datetime
    duration: timedelta
    type: CallType
    type_code: int
    direction: Direction
    answered: bool
    name: str | None
    number_type: int | None
    number_label: str | None
    country_iso: str | None
    geocoded_location: str | None
    presentation: Presentation | None
    subscription_id: str | None


@dataclass(frozen=True, slots=True)
class Decoded(Generic[T]):
    """Good records and per-row errors of one batch."""

    records: list[T]
    errors: list[RecordError]


def sms_from_row(row: Row) -> SmsRecord:
    """Decode one SMS row; raises :class:`RecordError` naming the bad column."""
    return _fast_or_checked(row, _fast_sms, _checked_sms)


def call_from_row(row: Row) -> CallRecord:
    """Decode one call-log row; raises :class:`RecordError` naming the bad column."""
    return _fast_or_checked(row, _fast_call, _checked_call)


def _fast_or_checked(row: Row, fast: Callable[[Row], T], checked: Callable[[Row], T]) -> T:
    try:
        return fast(row)
    except _UNUSUAL:
        return checked(row)


def _fast_sms(row: Row) -> SmsRecord:
    """The usual row in one go, without a helper call per column: it raises (KeyError, TypeError,
    ValueError) on anything unusual — a bad or missing integer, a time out of range, an odd flag —
    and :func:`_checked_sms` then decodes the row again and names the column."""
    get = row.get
    source_id, type_code, date = _fast_key_columns(row)
    sms_type = SMS_TYPES.get(type_code, SmsType.UNKNOWN)
    sent = _fast_bounded(get("date_sent"), MAX_EPOCH_MS)
    thread_id, status, sub_id, error_code = get("thread_id"), get("status"), get("sub_id"), get("error_code")
    sub_id = int(sub_id) if sub_id else None
    return SmsRecord(
        source_id=source_id,
        thread_id=int(thread_id) if thread_id else None,
        address=get("address"),
        occurred_at=EPOCH + timedelta(0, 0, 0, date),
        sent_at=EPOCH + timedelta(0, 0, 0, sent) if sent else None,
        type=sms_type,
        type_code=type_code,
        direction=sms_direction(sms_type),
        body=get("body"),
        subject=get("subject"),
        read=_FLAGS[get("read")],
        seen=_FLAGS[get("seen")],
        status=int(status) if status else None,
        subscription_id=None if sub_id is None or sub_id < 0 else sub_id,
        service_center=get("service_center"),
        locked=_FLAGS[get("locked")],
        error_code=int(error_code) if error_code else None,
    )


def _fast_call(row: Row) -> CallRecord:
    """The usual call-log row in one go; see :func:`_fast_sms`."""
    get = row.get
    source_id, type_code, date = _fast_key_columns(row)
    call_type = CALL_TYPES.get(type_code, CallType.UNKNOWN)
    seconds = _fast_bounded(get("duration"), _MAX_SECONDS)
    number_type, presentation = get("numbertype"), get("presentation")
    presentation = int(presentation) if presentation else None
    return CallRecord(
        source_id=source_id,
        number=get("number"),
        occurred_at=EPOCH + timedelta(0, 0, 0, date),
        duration=timedelta(0, seconds),
        type=call_type,
        type_code=type_code,
        direction=call_direction(call_type),
        answered=_answered(call_type, seconds),
        name=get("name"),
        number_type=int(number_type) if number_type else None,
        number_label=get("numberlabel"),
        country_iso=get("countryiso"),
        geocoded_location=get("geocoded_location"),
        presentation=None if presentation is None else PRESENTATIONS.get(presentation, Presentation.UNKNOWN),
        subscription_id=get("subscription_id") or None,
    )


def _fast_bounded(raw: str | None, high: int) -> int:
    """An optional integer column in ``0..high`` (0 when empty); raises on anything else."""
    value = int(raw or 0)
    if not 0 <= value <= high:
        raise ValueError("out of range")
    return value


def _fast_key_columns(row: Row) -> tuple[int, int, int]:
    """``_id``, ``type`` and ``date`` (epoch ms, in range) of a usual row; raises on anything else."""
    date = int(row["date"])
    if not 0 < date <= MAX_EPOCH_MS:
        raise ValueError("time out of range")
    return int(row["_id"]), int(row["type"]), date


def _answered(call_type: CallType, seconds: int) -> bool:
    return call_type in _ANSWERABLE_CALLS and (seconds > 0 or call_type is CallType.ANSWERED_EXTERNALLY)


def _checked_sms(row: Row) -> SmsRecord:
    """Decode one SMS row field by field, naming the first bad column in a :class:`RecordError`."""
    source_id = _required_int(row, "_id", None)
    sid = str(source_id)
    type_code = _required_int(row, "type", sid)
    sms_type = SMS_TYPES.get(type_code, SmsType.UNKNOWN)
    sub_id = _int(row, "sub_id", sid)
    return SmsRecord(
        source_id=source_id,
        thread_id=_int(row, "thread_id", sid),
        address=row.get("address"),
        occurred_at=_required_time(row, "date", sid),
        sent_at=_optional_time(row, "date_sent", sid),
        type=sms_type,
        type_code=type_code,
        direction=sms_direction(sms_type),
        body=row.get("body"),
        subject=row.get("subject"),
        read=_flag(row, "read", sid),
        seen=_flag(row, "seen", sid),
        status=_int(row, "status", sid),
        subscription_id=None if sub_id is None or sub_id < 0 else sub_id,
        service_center=row.get("service_center"),
        locked=_flag(row, "locked", sid),
        error_code=_int(row, "error_code", sid),
    )


def _checked_call(row: Row) -> CallRecord:
    """Decode one call-log row field by field, naming the first bad column in a :class:`RecordError`."""
    source_id = _required_int(row, "_id", None)
    sid = str(source_id)
    type_code = _required_int(row, "type", sid)
    call_type = CALL_TYPES.get(type_code, CallType.UNKNOWN)
    seconds = _int(row, "duration", sid) or 0
    if seconds < 0:
        raise RecordError("duration", seconds, "negative duration", sid)
    if seconds > _MAX_SECONDS:
        raise RecordError("duration", seconds, "out of range", sid)
    presentation = _int(row, "presentation", sid)
    return CallRecord(
        source_id=source_id,
        number=row.get("number"),
        occurred_at=_required_time(row, "date", sid),
        duration=timedelta(seconds=seconds),
        type=call_type,
        type_code=type_code,
        direction=call_direction(call_type),
        answered=_answered(call_type, seconds),
        name=row.get("name"),
        number_type=_int(row, "numbertype", sid),
        number_label=row.get("numberlabel"),
        country_iso=row.get("countryiso"),
        geocoded_location=row.get("geocoded_location"),
        presentation=None if presentation is None else PRESENTATIONS.get(presentation, Presentation.UNKNOWN),
        subscription_id=row.get("subscription_id") or None,
    )


def decode_sms_rows(rows: Iterable[Row]) -> Decoded[SmsRecord]:
    return _decode(rows, sms_from_row)


def decode_call_rows(rows: Iterable[Row]) -> Decoded[CallRecord]:
    return _decode(rows, call_from_row)


def _decode(rows: Iterable[Row], decode: Callable[[Row], T]) -> Decoded[T]:
    records: list[T] = []
    errors: list[RecordError] = []
    for row in rows:
        try:
            records.append(decode(row))
        except RecordError as error:
            errors.append(error)
    return Decoded(records, errors)


def _int(row: Row, column: str, source_id: str | None) -> int | None:
    raw = row.get(column)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise RecordError(column, raw, "not an integer", source_id) from None


def _required_int(row: Row, column: str, source_id: str | None) -> int:
    value = _int(row, column, source_id)
    if value is None:
        raise RecordError(column, row.get(column), "missing", source_id)
    return value


def _flag(row: Row, column: str, source_id: str) -> bool | None:
    value = _int(row, column, source_id)
    return None if value is None else value != 0


def _optional_time(row: Row, column: str, source_id: str) -> datetime | None:
    ms = _int(row, column, source_id)
    if ms is None or ms == 0:
        return None
    try:
        return from_epoch_ms(ms)
    except ValueError as error:
        raise RecordError(column, ms, str(error), source_id) from None


def _required_time(row: Row, column: str, source_id: str) -> datetime:
    value = _optional_time(row, column, source_id)
    if value is None:
        raise RecordError(column, row.get(column), "missing timestamp", source_id)
    return value
