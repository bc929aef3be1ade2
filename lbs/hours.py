"""Working-hours windows in a local time zone (used by filtering, dispatch and planning)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lbs.errors import InvalidConfig
from lbs.points import require_aware

WEEKDAYS = frozenset(range(5))  # Monday=0 … Friday=4


@dataclass(frozen=True, slots=True)
class WorkingHours:
    """Daily window ``start``–``end`` (local wall-clock) on ``weekdays`` in ``tz``.

    ``end`` earlier than ``start`` means an overnight shift; the weekday is the one on
    which the shift starts. ``start == end`` means the whole day.
    """

    start: time = time(8, 0)
    end: time = time(19, 0)
    weekdays: frozenset[int] = WEEKDAYS
    tz: str = "Asia/Shanghai"
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.weekdays or not all(isinstance(d, int) and 0 <= d <= 6 for d in self.weekdays):
            raise InvalidConfig("weekdays must be a non-empty set of 0 (Mon) … 6 (Sun)", field="weekdays")
        try:
            zone = ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidConfig(f"unknown time zone {self.tz!r}", field="tz") from None
        object.__setattr__(self, "_zone", zone)

    def contains(self, when: datetime) -> bool:
        """True when the aware datetime ``when`` falls inside working hours."""
        local = require_aware(when, "when").astimezone(self._zone)
        t, day = local.time(), local.weekday()
        if self.start == self.end:
            return day in self.weekdays
        if self.start < self.end:
            return day in self.weekdays and self.start <= t < self.end
        if t >= self.start:
            return day in self.weekdays
        return (day - 1) % 7 in self.weekdays and t < self.end
