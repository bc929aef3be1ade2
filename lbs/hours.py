"""Working-hours windows in a local time zone (used by filtering, dispatch and planning)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from numpy.typing import NDArray

from lbs.errors import InvalidConfig
from lbs.points import EPOCH, MICROSECOND, epoch_us

WEEKDAYS = frozenset(range(5))  # Monday=0 … Friday=4
DAY_US = 86_400_000_000
_HOUR_US = 3_600_000_000


def _offset_us(zone: ZoneInfo, t_us: int) -> int:
    return (EPOCH + timedelta(microseconds=t_us)).astimezone(zone).utcoffset() // MICROSECOND  # type: ignore[operator]


def local_us(t_us: NDArray[np.int64], zone: ZoneInfo) -> NDArray[np.int64]:
    """Local wall-clock times in ``zone`` as microseconds since 1970-01-01 00:00 local.

    The UTC offset is looked up once per UTC hour (at its first and last microsecond);
    only an hour in which the offset changes is looked up fix by fix.
    """
    t_us = np.asarray(t_us, dtype=np.int64)
    if t_us.size == 0:
        return t_us.copy()
    hours, where = np.unique(t_us // _HOUR_US, return_inverse=True)
    offsets = np.empty(t_us.size, dtype=np.int64)
    for k, hour in enumerate(hours.tolist()):
        first, last = _offset_us(zone, hour * _HOUR_US), _offset_us(zone, (hour + 1) * _HOUR_US - 1)
        inside = where == k
        if first == last:
            offsets[inside] = first
        else:
            offsets[inside] = [_offset_us(zone, t) for t in t_us[inside].tolist()]
    return t_us + offsets


def _clock_us(value: time) -> int:
    return ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond


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

    @property
    def zone(self) -> ZoneInfo:
        return self._zone

    def contains(self, when: datetime) -> bool:
        """True when the aware datetime ``when`` falls inside working hours."""
        return bool(self.contains_us(np.array([epoch_us(when, "when")], dtype=np.int64))[0])

    def contains_us(self, t_us: NDArray[np.int64]) -> NDArray[np.bool_]:
        """:meth:`contains` for many UTC epoch-microsecond times at once."""
        local = local_us(t_us, self._zone)
        day = local // DAY_US
        clock = local - day * DAY_US
        days = list(self.weekdays)
        on_day = np.isin((day + 3) % 7, days)  # 1970-01-01 was a Thursday (weekday 3)
        start, end = _clock_us(self.start), _clock_us(self.end)
        if start == end:
            return on_day
        if start < end:
            return on_day & (clock >= start) & (clock < end)
        day_before = np.isin((day + 2) % 7, days)
        return np.where(clock >= start, on_day, day_before & (clock < end))
