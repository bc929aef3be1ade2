"""JSON shape of the location records the device agent sends, and of the per-record answers.

A record mirrors :class:`capture.fix.Fix` (SI units, WGS-84, aware time), so the agent can
send what its decoders produce. ``device_key`` may be present but is ignored: the device is
the one whose token authenticated the request.

A batch body is validated straight from its bytes in one pass; only when that fails is it
parsed again record by record, so that a bad record is rejected and the rest go through.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, NotRequired

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from crm.errors import DomainError
from server.ingest.records import Status


class LocationIn(TypedDict):
    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    time: AwareDatetime
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]
    source: NotRequired[Literal["owntracks", "osmand", "traccar_json", "dumpsys"]]
    accuracy_m: NotRequired[Annotated[float, Field(ge=0, le=1e7)] | None]
    speed_mps: NotRequired[Annotated[float, Field(ge=0, le=1000)] | None]
    bearing_deg: NotRequired[Annotated[float, Field(ge=0, le=360)] | None]
    altitude_m: NotRequired[Annotated[float, Field(ge=-12_000, le=100_000)] | None]
    battery_pct: NotRequired[Annotated[float, Field(ge=0, le=100)] | None]
    charging: NotRequired[bool | None]
    mock: NotRequired[bool]
    provider: NotRequired[Annotated[str, Field(max_length=32)] | None]
    device_key: NotRequired[Annotated[str, Field(max_length=128)] | None]


class _Batch(TypedDict):
    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    records: list[LocationIn]


class LocationBatchIn(BaseModel):
    """``records`` are validated one by one: a bad record is rejected, the rest go through."""

    model_config = ConfigDict(extra="forbid")

    records: list[Any] = Field(description="Up to FIELDCRM_INGEST_MAX_BATCH LocationIn objects.")


RECORDS = TypeAdapter(list[LocationIn])
_BATCH = TypeAdapter(_Batch)
_ENVELOPE = TypeAdapter(LocationBatchIn)

#: The request body as documented in OpenAPI (the route reads raw bytes).
BATCH_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["records"],
    "properties": {"records": {"type": "array", "items": TypeAdapter(LocationIn).json_schema()}},
}


def parse_batch(body: bytes) -> tuple[list[LocationIn] | None, list[Any]]:
    """``(records, [])`` when every record is valid, else ``(None, raw records)``; DomainError when
    the body is not a JSON object with a ``records`` list."""
    try:
        return _BATCH.validate_json(body)["records"], []
    except ValidationError:
        pass
    try:
        envelope = _ENVELOPE.validate_python(json.loads(body))
    except (ValueError, RecursionError) as exc:
        raise DomainError(f"malformed JSON: {exc}", field="records", status_code=422) from None
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        raise DomainError(first["msg"], field=".".join(str(p) for p in first["loc"]) or None, status_code=422) from None
    return None, envelope.records


class LocationResult(BaseModel):
    """As the other ingestion endpoints' results (server.ingest.records.RecordResult), without the
    phone's row id (fixes have none) and with the filter verdict."""

    index: int = Field(description="Position of the record in the batch.")
    status: Status
    fix_status: str | None = Field(
        default=None, description="Filter verdict of a stored fix: ok, low_accuracy, duplicate, speed_jump, ..."
    )
    reason: str | None = Field(default=None, description="Why the record was rejected or excluded.")
    field: str | None = Field(default=None, description="Which field was wrong.")


class LocationBatchResult(BaseModel):
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    excluded: int = Field(default=0, description="Outside tracking hours: not stored, only counted.")
    results: list[LocationResult] = Field(default_factory=list)
