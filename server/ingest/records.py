"""JSON schemas of the records a device sends (mirroring ``capture.records``), and of the answers.

A request body is validated straight from its bytes in one pydantic pass (:func:`parse_batch`);
only a batch with an invalid record is validated again record by record, so that one bad record is rejected
(and quarantined) while the rest of its batch goes through. ``type``, ``direction`` and ``answered`` may be
left out: they follow from ``type_code`` and ``duration`` by the same rules as the
decoders; when given they must agree with them.
"""

from __future__ import annotations

import json
from datetime import timedelta
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from typing_extensions import TypedDict

from capture.records import (
    SMS_TYPES,
    CallType,
    Direction,
    Presentation,
    SmsType,
    call_from_row,
    sms_direction,
)
from crm.errors import DomainError

INT32 = 2**31 - 1
MAX_BODY_CHARS = 20_000
MAX_CALL = timedelta(hours=24)
MAX_RAW_COLUMNS = 64


def _clean_text(value: str) -> str:
    """Refuse text no database stores faithfully: NUL characters and lone surrogates."""
    if "\x00" in value:
        raise ValueError("text contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text is not valid Unicode (lone surrogate)") from None
    return value


Clean = AfterValidator(_clean_text)
Text8 = Annotated[str, Field(max_length=8), Clean]
Text64 = Annotated[str, Field(max_length=64), Clean]
Text100 = Annotated[str, Field(max_length=100), Clean]
Text128 = Annotated[str, Field(max_length=128), Clean]
Text200 = Annotated[str, Field(max_length=200), Clean]
Text500 = Annotated[str, Field(max_length=500), Clean]
Body = Annotated[str, Field(max_length=MAX_BODY_CHARS), Clean]
Int32 = Annotated[int, Field(ge=-INT32 - 1, le=INT32)]
SourceId = Annotated[int, Strict(), Field(ge=0, le=INT32, description="The phone's _id of the row.")]
RawRow = Annotated[
    dict[Text64, Body | None],
    Field(max_length=MAX_RAW_COLUMNS, description="The content-query row as the phone printed it."),
]


class DeviceRecord(BaseModel):
    """What every record a device sends has: its own id on the phone; nothing unknown."""

    model_config = ConfigDict(extra="forbid")

    source_id: SourceId


class RecordIn(DeviceRecord):
    occurred_at: AwareDatetime


def _agree(given: Any, derived: Any, field: str) -> Any:
    if given is not None and given != derived:
        raise ValueError(f"{field}={given!s} contradicts the derived value {derived!s}")
    return derived


class SmsIn(RecordIn):
    """One ``content://sms`` row as :class:`capture.records.SmsRecord` JSON."""

    thread_id: Int32 | None = None
    address: Text128 | None = None
    sent_at: AwareDatetime | None = None
    type_code: int = Field(ge=0, le=255)
    type: SmsType | None = None
    direction: Direction | None = None
    body: Body | None = None
    subject: Text500 | None = None
    read: bool | None = None
    seen: bool | None = None
    status: Int32 | None = None
    subscription_id: Int32 | None = None
    service_center: Text64 | None = None
    locked: bool | None = None
    error_code: Int32 | None = None
    raw: RawRow | None = None

    @model_validator(mode="after")
    def _derive(self) -> SmsIn:
        fields = self.__dict__  # set derived values without pydantic's per-assignment machinery
        fields["type"] = _agree(self.type, SMS_TYPES.get(self.type_code, SmsType.UNKNOWN), "type")
        fields["direction"] = _agree(self.direction, sms_direction(fields["type"]), "direction")
        return self


@lru_cache(maxsize=4096)
def _call_facts(type_code: int, seconds: int) -> tuple[CallType, Direction, bool]:
    """Type, direction and answered flag exactly as the call-log decoder derives them."""
    record = call_from_row({"_id": "0", "date": "1", "type": str(type_code), "duration": str(seconds)})
    return record.type, record.direction, record.answered


class CallIn(RecordIn):
    """One ``content://call_log/calls`` row as :class:`capture.records.CallRecord` JSON.

    ``duration`` is seconds (a number) or an ISO-8601 duration (``PT1M5S``).
    """

    number: Text128 | None = None
    duration: timedelta = Field(ge=timedelta(0), le=MAX_CALL)
    type_code: int = Field(ge=0, le=255)
    type: CallType | None = None
    direction: Direction | None = None
    answered: bool | None = None
    name: Text200 | None = None
    number_type: Int32 | None = None
    number_label: Text100 | None = None
    country_iso: Text8 | None = None
    geocoded_location: Text200 | None = None
    presentation: Presentation | None = None
    subscription_id: Text128 | None = None
    raw: RawRow | None = None

    @model_validator(mode="after")
    def _derive(self) -> CallIn:
        call_type, direction, answered = _call_facts(self.type_code, int(self.duration.total_seconds()))
        fields = self.__dict__
        fields["type"] = _agree(self.type, call_type, "type")
        fields["direction"] = _agree(self.direction, direction, "direction")
        fields["answered"] = _agree(self.answered, answered, "answered")
        return self


MAX_CONTACT_NUMBERS = 50


class ContactNumberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: Annotated[str, Field(max_length=64), Clean] = Field(description="As typed on the phone.")
    type: Int32 | None = Field(default=None, description="ContactsContract Phone.TYPE.")
    label: Text100 | None = None


class ContactIn(DeviceRecord):
    """One phone-book entry (``ContactsContract`` contact ``_id`` with its name, company and numbers)."""

    name: Text200 | None = None
    company: Text200 | None = None
    numbers: list[ContactNumberIn] = Field(default_factory=list, max_length=MAX_CONTACT_NUMBERS)
    updated_at: AwareDatetime | None = Field(default=None, description="The phone's time of the change (or deletion).")
    deleted: bool = Field(default=False, description="The contact was deleted on the phone; carries no content.")

    @model_validator(mode="after")
    def _deletion_is_empty(self) -> ContactIn:
        if self.deleted and (self.name or self.company or self.numbers):
            raise ValueError("a deletion carries no name, company or numbers")
        return self


class BatchIn(BaseModel):
    """``records`` are validated by the pipeline (see :class:`SmsIn`, :class:`CallIn`), so that a bad
    record gets its own answer instead of failing the batch."""

    model_config = ConfigDict(extra="forbid")

    records: list[Any] = Field(description="Up to FIELDCRM_INGEST_MAX_BATCH record objects.")


_ENVELOPE = TypeAdapter(BatchIn)


@lru_cache(maxsize=8)
def envelope_adapter(schema: type[DeviceRecord]) -> TypeAdapter[Any]:
    """Validates a whole request body (``{"records": [...]}`` of ``schema``) straight from its bytes."""
    envelope = TypedDict(f"{schema.__name__}Batch", {"records": list[schema]})  # type: ignore[misc,valid-type]  # noqa: UP013 (built per schema)
    envelope.__pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[attr-defined]
    return TypeAdapter(envelope)


@lru_cache(maxsize=8)
def batch_schema(schema: type[DeviceRecord]) -> dict[str, Any]:
    """The request body as documented in OpenAPI (the routes read raw bytes)."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["records"],
        "properties": {"records": {"type": "array", "items": TypeAdapter(schema).json_schema()}},
    }


def parse_batch(schema: type[DeviceRecord], body: bytes) -> tuple[list[Any] | None, list[Any]]:
    """``(records, [])`` when the body and every record in it are valid (one pass over the bytes, the
    usual case), else ``(None, raw records)`` for the record-by-record pass; DomainError when the body
    is not a JSON object with a ``records`` list and nothing else."""
    try:
        return envelope_adapter(schema).validate_json(body)["records"], []
    except ValidationError:
        pass
    try:  # Python's parser: it keeps a lone surrogate, which then rejects only its own record
        envelope = _ENVELOPE.validate_python(json.loads(body))
    except (ValueError, RecursionError) as error:
        if isinstance(error, ValidationError):
            first = error.errors(include_url=False)[0]
            where = ".".join(str(part) for part in first["loc"])
            raise DomainError(first["msg"], field=where or "records", status_code=422) from None
        raise DomainError(f"malformed JSON: {error}", field="records", status_code=422) from None
    return None, envelope.records


Status = Literal["accepted", "duplicate", "rejected", "excluded"]


class RecordResult(BaseModel):
    index: int = Field(description="Position of the record in the batch.")
    source_id: int | None = Field(description="The record's source_id, when it could be read.")
    status: Status
    id: int | None = Field(default=None, description="Server id of the stored row (accepted only).")
    updated: bool | None = Field(
        default=None,
        description="A re-sent record whose state changed on the phone (an SMS sent since) updated its stored row.",
    )
    reason: str | None = Field(default=None, description="Why the record was rejected.")
    field: str | None = Field(default=None, description="Which field was wrong.")


class BatchResult(BaseModel):
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    excluded: int = 0
    results: list[RecordResult] = Field(default_factory=list)
