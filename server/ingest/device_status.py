"""Device health reported by the agent (battery, storage, properties, last sync per source).

The latest report is kept on ``device.status``; a report older than the stored one is
ignored (reports may arrive out of order after an outbox replay), so re-sending changes
nothing. A malformed report is quarantined and refused.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from sqlmodel import Session

from capture.dumpsys import BatteryHealth, BatteryStatus
from crm.communications import CaptureSource
from crm.devices import Device
from crm.errors import DomainError
from server.ingest.pipeline import IngestContext, Rejected, check_times, decode, quarantine, quarantine_row
from server.ingest.records import Text64, Text200
from server.logs import get_logger, log_event

logger = get_logger("ingest")

MAX_PROPERTIES = 200


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BatteryIn(_Strict):
    """``dumpsys battery`` as :class:`capture.dumpsys.BatteryState` JSON."""

    level: int = Field(ge=0, le=10_000)
    scale: int = Field(default=100, gt=0, le=10_000)
    status: BatteryStatus = BatteryStatus.UNKNOWN
    health: BatteryHealth = BatteryHealth.UNKNOWN
    plugged: list[Literal["ac", "usb", "wireless", "dock"]] = Field(default_factory=list, max_length=4)
    present: bool | None = None
    temperature_c: float | None = Field(default=None, ge=-50, le=150)
    voltage_mv: int | None = Field(default=None, ge=0, le=100_000)
    technology: Text64 | None = None
    updates_stopped: bool = False

    @model_validator(mode="after")
    def _level_within_scale(self) -> BatteryIn:
        if self.level > self.scale:
            raise ValueError(f"level {self.level} exceeds scale {self.scale}")
        return self


class StorageIn(_Strict):
    total_bytes: int = Field(ge=0, le=2**50)
    free_bytes: int = Field(ge=0, le=2**50)

    @model_validator(mode="after")
    def _free_within_total(self) -> StorageIn:
        if self.free_bytes > self.total_bytes:
            raise ValueError("free_bytes exceeds total_bytes")
        return self


class DeviceStatusIn(_Strict):
    occurred_at: AwareDatetime = Field(description="When the agent collected the report.")
    battery: BatteryIn | None = None
    storage: StorageIn | None = None
    properties: dict[Text64, Text200] | None = Field(default=None, max_length=MAX_PROPERTIES)
    last_sync: dict[Text64, AwareDatetime] | None = Field(
        default=None,
        max_length=32,
        description="Per source (sms, calls, recordings, ...): last successful sync.",
    )
    agent_version: Text64 | None = None


class DeviceStatusResult(BaseModel):
    status: Literal["accepted", "stale"]
    occurred_at: datetime


def record_device_status(
    session: Session, *, device: Device, payload: Any, ctx: IngestContext
) -> DeviceStatusResult:
    try:
        report: DeviceStatusIn = decode(DeviceStatusIn, payload)
        check_times(report, ctx, ("occurred_at",))
    except Rejected as rejected:
        quarantine(session, ctx, [quarantine_row(ctx, CaptureSource.device_status, payload, rejected)])
        session.commit()
        raise DomainError(rejected.reason, field=rejected.field, status_code=422) from None
    current: dict[str, Any] = device.status or {}
    previous = current.get("occurred_at")
    if previous is not None and datetime.fromisoformat(previous) >= report.occurred_at:
        return DeviceStatusResult(status="stale", occurred_at=report.occurred_at)
    device.status = report.model_dump(mode="json") | {"received_at": ctx.now.isoformat()}
    device.last_seen_at = max(device.last_seen_at or ctx.now, ctx.now)
    session.add(device)
    session.commit()
    log_event(logger, "ingest.device_status", device_id=device.id)
    return DeviceStatusResult(status="accepted", occurred_at=report.occurred_at)
