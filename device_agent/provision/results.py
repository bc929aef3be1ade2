"""How a provisioning step ended."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    DONE = "done"
    ALREADY = "already done"
    HUMAN = "needs a human"
    FAILED = "failed"
    RUNNING = "running"
    WAITING = "waiting"
    SKIPPED = "not attempted"

    @property
    def ok(self) -> bool:
        return self in (Status.DONE, Status.ALREADY)


@dataclass(frozen=True)
class StepResult:
    step: str
    status: Status
    detail: str = ""
