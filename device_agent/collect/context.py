"""What every collector gets: the phone, the store, the device key, both clocks, and a way to report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from device_agent.config import AgentSettings
from device_agent.phone import Phone
from device_agent.store import AgentStore

Progress = Callable[[str, str], None]
"""``progress(source, message)``: a one-line update for the display."""


class Outcome(StrEnum):
    OK = "ok"
    REFUSED = "refused"  # the phone refused (provider permission, dumpsys refused)
    CUT = "cut"  # the phone went away mid-way; what arrived is kept, the rest comes next time
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass
class Collected:
    source: str
    outcome: Outcome
    new: int = 0
    detail: str = ""


@dataclass(frozen=True)
class Clocks:
    """The phone's and the host's clocks read together; ``skew`` = phone − host."""

    phone: datetime | None
    host: datetime
    uptime: timedelta | None

    @property
    def skew(self) -> timedelta | None:
        return None if self.phone is None else self.phone - self.host


@dataclass
class SyncContext:
    phone: Phone
    store: AgentStore
    device: str
    settings: AgentSettings
    clocks: Clocks
    progress: Progress = field(default=lambda source, message: None)

    @property
    def staging(self) -> Path:
        return self.settings.staging_dir / self.device


def now_utc() -> datetime:
    return datetime.now(UTC)
