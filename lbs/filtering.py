"""Bad-fix filtering: every fix gets a status and a reason; nothing is dropped.

Checks, in precedence order (the first failing one sets the status):

1. ``invalid``        – lat/lon not finite or out of range, negative accuracy/speed
2. ``zero``           – exactly (0, 0), the classic "no fix" value
3. ``future``         – time later than ``now + future_tolerance_s``
4. ``ancient``        – time earlier than ``now - max_age_s``
5. ``outside_hours``  – outside the organisation's working hours (privacy)
6. ``mock``           – Android reported a mock provider
7. ``rejected_source``– provider listed in ``rejected_sources`` (e.g. ``network``)
8. ``low_accuracy``   – accuracy worse than ``max_accuracy_m`` (missing accuracy passes)
9. ``duplicate``      – same fix time as an earlier fix that passed 1–8
10. ``speed_jump``    – part of a short run of fixes that cannot be reached from the
   rest of the track at ``max_speed_mps`` (see :func:`_mark_speed_jumps`)
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import numpy as np

from lbs.errors import InvalidConfig, require_fields
from lbs.geo import haversine_np
from lbs.hours import WorkingHours
from lbs.points import Fix, require_aware


class FixStatus(StrEnum):
    OK = "ok"
    INVALID = "invalid"
    ZERO = "zero"
    FUTURE = "future"
    ANCIENT = "ancient"
    OUTSIDE_HOURS = "outside_hours"
    MOCK = "mock"
    REJECTED_SOURCE = "rejected_source"
    LOW_ACCURACY = "low_accuracy"
    DUPLICATE = "duplicate"
    SPEED_JUMP = "speed_jump"


@dataclass(frozen=True, slots=True)
class FilterConfig:
    """Per-organisation filter settings. Defaults suit phones reporting every 5–60 s."""

    max_accuracy_m: float = 100.0
    future_tolerance_s: float = 600.0
    max_age_s: float = 7 * 86400.0
    max_speed_mps: float = 70.0  # 252 km/h
    max_jump_run: int = 5  # longest run of fixes that may be judged a jump as a whole
    reject_mock: bool = True
    rejected_sources: frozenset[str] = frozenset()
    working_hours: WorkingHours | None = None

    def __post_init__(self) -> None:
        require_fields(self, "max_accuracy_m", "future_tolerance_s", "max_age_s")
        require_fields(self, "max_speed_mps", positive=True)
        if self.max_jump_run < 1:
            raise InvalidConfig("max_jump_run must be at least 1", field="max_jump_run")


@dataclass(frozen=True, slots=True)
class CheckedFix:
    """A fix with its verdict. ``index`` is its position in the input sequence."""

    fix: Fix
    status: FixStatus
    reason: str
    index: int

    @property
    def ok(self) -> bool:
        return self.status is FixStatus.OK


def _basic_status(fix: Fix, config: FilterConfig, now: datetime) -> tuple[FixStatus, str]:
    lat, lon = fix.lat, fix.lon
    if not (
        isinstance(lat, int | float)
        and isinstance(lon, int | float)
        and math.isfinite(lat)
        and math.isfinite(lon)
        and -90 <= lat <= 90
        and -180 <= lon <= 180
    ):
        return FixStatus.INVALID, f"coordinates out of range: ({lat}, {lon})"
    for name in ("accuracy_m", "speed_mps"):
        value = getattr(fix, name)
        if value is not None and not (math.isfinite(value) and value >= 0):
            return FixStatus.INVALID, f"{name} must be a non-negative number, got {value}"
    if lat == 0 and lon == 0:
        return FixStatus.ZERO, "position (0, 0)"
    ahead = (fix.time - now).total_seconds()
    if ahead > config.future_tolerance_s:
        return FixStatus.FUTURE, f"{ahead:.0f} s in the future"
    if -ahead > config.max_age_s:
        return FixStatus.ANCIENT, f"{-ahead / 86400:.1f} days old"
    if config.working_hours is not None and not config.working_hours.contains(fix.time):
        return FixStatus.OUTSIDE_HOURS, "outside working hours"
    if config.reject_mock and fix.mock:
        return FixStatus.MOCK, "mock location provider"
    if fix.source is not None and fix.source in config.rejected_sources:
        return FixStatus.REJECTED_SOURCE, f"source {fix.source!r} not accepted"
    if fix.accuracy_m is not None and fix.accuracy_m > config.max_accuracy_m:
        return FixStatus.LOW_ACCURACY, f"accuracy {fix.accuracy_m:.0f} m > {config.max_accuracy_m:.0f} m"
    return FixStatus.OK, ""


def _mark_speed_jumps(t: np.ndarray, lat: np.ndarray, lon: np.ndarray, config: FilterConfig) -> np.ndarray:
    """Return a boolean mask of fixes to mark as speed jumps.

    The track is cut wherever the implied speed between consecutive fixes exceeds the
    limit. Repeatedly, the shortest piece of at most ``max_jump_run`` fixes is marked
    and removed (then its neighbours are re-joined if they are consistent with each
    other), until no short piece remains or only one piece is left. This removes
    single spikes, short bursts of bad fixes and a bad first fix alike, while a real
    long jump (both sides long) is left alone.
    """
    n = len(t)
    jump = np.zeros(n, dtype=bool)
    if n < 2:
        return jump

    def too_fast(i: int, j: int) -> bool:
        dist = float(haversine_np(lat[i], lon[i], lat[j], lon[j]))
        return dist > config.max_speed_mps * max(t[j] - t[i], 1.0)

    dist = haversine_np(lat[:-1], lon[:-1], lat[1:], lon[1:])
    breaks = np.flatnonzero(dist > config.max_speed_mps * np.maximum(np.diff(t), 1.0)) + 1
    if breaks.size == 0:
        return jump
    bounds = np.concatenate(([0], breaks, [n]))
    pieces = list(itertools.pairwise(bounds.tolist()))
    while len(pieces) > 1:
        k = min(range(len(pieces)), key=lambda i: pieces[i][1] - pieces[i][0])
        start, end = pieces[k]
        if end - start > config.max_jump_run:
            break
        jump[start:end] = True
        del pieces[k]
        if 0 < k < len(pieces):
            left, right = pieces[k - 1], pieces[k]
            if not too_fast(left[1] - 1, right[0]):
                pieces[k - 1 : k + 1] = [(left[0], right[1])]
    return jump


def filter_fixes(fixes: Sequence[Fix], config: FilterConfig, now: datetime) -> list[CheckedFix]:
    """Check every fix; return them sorted by time (stable) with a status and reason each.

    Jump pieces are spans of consecutive candidate fixes; ``_mark_speed_jumps`` works on
    the candidates only, so earlier-rejected fixes never anchor a jump decision.
    """
    now = require_aware(now, "now")
    order = sorted(range(len(fixes)), key=lambda i: fixes[i].time)
    verdicts: dict[int, tuple[FixStatus, str]] = {}
    candidates: list[int] = []
    last_time: datetime | None = None
    for i in order:
        status, reason = _basic_status(fixes[i], config, now)
        if status is FixStatus.OK and last_time == fixes[i].time:
            status, reason = FixStatus.DUPLICATE, "same fix time as the previous fix"
        verdicts[i] = (status, reason)
        if status is FixStatus.OK:
            candidates.append(i)
            last_time = fixes[i].time
    if candidates:
        t = np.array([fixes[i].time.timestamp() for i in candidates])
        la = np.array([fixes[i].lat for i in candidates], dtype=np.float64)
        lo = np.array([fixes[i].lon for i in candidates], dtype=np.float64)
        for pos in np.flatnonzero(_mark_speed_jumps(t, la, lo, config)):
            verdicts[candidates[pos]] = (
                FixStatus.SPEED_JUMP,
                f"unreachable from neighbouring fixes at {config.max_speed_mps:.0f} m/s",
            )
    return [CheckedFix(fixes[i], *verdicts[i], index=i) for i in order]
