"""JSON shape of the location records the device agent sends, and of the per-record answers.

A record mirrors :class:`capture.fix.Fix` (SI units, WGS-84, aware time), so the agent can
send what its decoders produce. ``device_key`` may be present but is ignored: the device is
the one whose token authenticated the request.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from capture.fix import FixSource
from server.ingest.records import RecordResult


class LocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    time: AwareDatetime
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    source: FixSource = FixSource.DUMPSYS
    accuracy_m: float | None = Field(default=None, ge=0, le=1e7)
    speed_mps: float | None = Field(default=None, ge=0, le=1000)
    bearing_deg: float | None = Field(default=None, ge=0, le=360)
    altitude_m: float | None = Field(default=None, ge=-12_000, le=100_000)
    battery_pct: float | None = Field(default=None, ge=0, le=100)
    charging: bool | None = None
    mock: bool = False
    provider: Annotated[str, Field(max_length=32)] | None = None
    device_key: Annotated[str, Field(max_length=128)] | None = None


RECORDS = TypeAdapter(list[LocationIn])


class LocationBatchIn(BaseModel):
    """``records`` are validated one by one: a bad record is rejected, the rest go through."""

    model_config = ConfigDict(extra="forbid")

    records: list[Any] = Field(description="Up to FIELDCRM_INGEST_MAX_BATCH LocationIn objects.")


class LocationResult(RecordResult):
    fix_status: str | None = Field(
        default=None, description="Filter verdict of a stored fix: ok, low_accuracy, duplicate, speed_jump, ..."
    )


class LocationBatchResult(BaseModel):
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    excluded: int = Field(default=0, description="Outside tracking hours: not stored, only counted.")
    results: list[LocationResult] = Field(default_factory=list)
