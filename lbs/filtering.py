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

The checks run on columns (:class:`FixColumns`, :func:`judge`); :func:`filter_fixes` is the
same over :class:`~lbs.points.Fix` objects, with a reason per fix.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from lbs.errors import InvalidConfig, require_fields
from lbs.geo import haversine_np
from lbs.hours import WorkingHours
from lbs.points import Fix, epoch_us, require_aware


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


#: ``Verdicts.status`` holds positions in this tuple.
STATUSES: tuple[FixStatus, ...] = tuple(FixStatus)
_CODE = {status: code for code, status in enumerate(STATUSES)}


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


def _number(value: object) -> float:
    """A coordinate as float; NaN (invalid) when it is not a number."""
    return float(value) if isinstance(value, int | float) else math.nan  # type: ignore[arg-type]


def _optional(value: object) -> float:
    """An optional measure: NaN when missing, -inf (invalid) when not a finite number."""
    if value is None:
        return math.nan
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else -math.inf


@dataclass(frozen=True, slots=True, eq=False)
class FixColumns:
    """Fixes as columns: ``t_us`` UTC epoch microseconds, ``lat``/``lon`` degrees, ``accuracy_m``
    and ``speed_mps`` NaN when unknown (negative or infinite: invalid), ``mock`` flags and
    ``source`` (the provider, as :attr:`Fix.source`)."""

    t_us: NDArray[np.int64]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    accuracy_m: NDArray[np.float64]
    speed_mps: NDArray[np.float64]
    mock: NDArray[np.bool_]
    source: Sequence[str | None]

    @classmethod
    def positions(cls, t_us: NDArray[np.int64], lat: NDArray[np.float64], lon: NDArray[np.float64]) -> FixColumns:
        """Bare positions (no accuracy, speed, mock flag or provider)."""
        n = len(t_us)
        unknown = np.full(n, np.nan)
        return cls(t_us, lat, lon, unknown, unknown, np.zeros(n, dtype=bool), [None] * n)

    @classmethod
    def from_fixes(cls, fixes: Sequence[Fix]) -> FixColumns:
        n = len(fixes)
        return cls(
            np.fromiter((epoch_us(f.time) for f in fixes), dtype=np.int64, count=n),
            np.fromiter((_number(f.lat) for f in fixes), dtype=np.float64, count=n),
            np.fromiter((_number(f.lon) for f in fixes), dtype=np.float64, count=n),
            np.fromiter((_optional(f.accuracy_m) for f in fixes), dtype=np.float64, count=n),
            np.fromiter((_optional(f.speed_mps) for f in fixes), dtype=np.float64, count=n),
            np.fromiter((bool(f.mock) for f in fixes), dtype=bool, count=n),
            [f.source for f in fixes],
        )

    @classmethod
    def concat(cls, first: FixColumns, second: FixColumns) -> FixColumns:
        return cls(
            np.concatenate((first.t_us, second.t_us)),
            np.concatenate((first.lat, second.lat)),
            np.concatenate((first.lon, second.lon)),
            np.concatenate((first.accuracy_m, second.accuracy_m)),
            np.concatenate((first.speed_mps, second.speed_mps)),
            np.concatenate((first.mock, second.mock)),
            [*first.source, *second.source],
        )

    def __len__(self) -> int:
        return int(self.t_us.size)


@dataclass(frozen=True, slots=True, eq=False)
class Verdicts:
    """The filter's answer for :class:`FixColumns`.

    ``status``: a code per input fix (position in :data:`STATUSES`); ``order``: input
    positions sorted by time (stable); ``judged``: input positions of the fixes the
    speed-jump test looked at, in time order; ``pieces``: bounds (into ``judged``) of the
    pieces the track breaks into at impossible steps.
    """

    status: NDArray[np.int8]
    order: NDArray[np.intp]
    judged: NDArray[np.intp]
    pieces: NDArray[np.intp]

    def of(self, position: int) -> FixStatus:
        return STATUSES[int(self.status[position])]

    def unaffected_by_more(
        self, watched: NDArray[np.bool_], max_jump_run: int, *, earlier: bool, later: bool
    ) -> bool:
        """Whether the verdicts of the ``watched`` fixes stay the same when more fixes are
        added, all strictly earlier than every input fix (``earlier``) and/or all strictly
        later (``later``).

        A piece longer than ``max_jump_run`` is never marked, and removing pieces on one
        side of it never changes it on the other side; so one such piece between the
        watched fixes and the added ones shields them.
        """
        positions = np.flatnonzero(watched[self.judged])
        if positions.size == 0:
            return True
        starts, ends = self.pieces[:-1], self.pieces[1:]
        long = ends - starts > max_jump_run
        shielded_before = not earlier or bool(np.any(long & (starts <= positions[0])))
        shielded_after = not later or bool(np.any(long & (ends - 1 >= positions[-1])))
        return shielded_before and shielded_after


def _basic_status(cols: FixColumns, config: FilterConfig, now_us: int) -> NDArray[np.int8]:
    """Checks 1–8 (each fix on its own)."""
    lat, lon, acc, speed = cols.lat, cols.lon, cols.accuracy_m, cols.speed_mps
    with np.errstate(invalid="ignore"):
        bad_position = ~(np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180))
        bad_measure = (acc < 0) | np.isinf(acc) | (speed < 0) | np.isinf(speed)
    ahead_s = (cols.t_us - now_us) / 1e6
    checks = [
        (FixStatus.INVALID, bad_position | bad_measure),
        (FixStatus.ZERO, (lat == 0) & (lon == 0)),
        (FixStatus.FUTURE, ahead_s > config.future_tolerance_s),
        (FixStatus.ANCIENT, -ahead_s > config.max_age_s),
    ]
    if config.working_hours is not None:
        outside = np.zeros(len(cols), dtype=bool)
        rest = ~np.logical_or.reduce([mask for _, mask in checks])
        outside[rest] = ~config.working_hours.contains_us(cols.t_us[rest])
        checks.append((FixStatus.OUTSIDE_HOURS, outside))
    if config.reject_mock:
        checks.append((FixStatus.MOCK, cols.mock))
    if config.rejected_sources:
        rejected = config.rejected_sources
        checks.append((FixStatus.REJECTED_SOURCE, np.fromiter(
            (s is not None and s in rejected for s in cols.source), dtype=bool, count=len(cols))))
    checks.append((FixStatus.LOW_ACCURACY, acc > config.max_accuracy_m))
    return np.select([mask for _, mask in checks], [_CODE[s] for s, _ in checks], _CODE[FixStatus.OK]).astype(np.int8)


def _piece_bounds(t: NDArray[np.float64], lat: NDArray[np.float64], lon: NDArray[np.float64],
                  config: FilterConfig) -> NDArray[np.intp]:
    """``[0, b1, …, n]``: the track is cut wherever the implied speed between consecutive
    fixes exceeds the limit."""
    if t.size < 2:
        return np.array([0, t.size], dtype=np.intp)
    dist = haversine_np(lat[:-1], lon[:-1], lat[1:], lon[1:])
    breaks = np.flatnonzero(dist > config.max_speed_mps * np.maximum(np.diff(t), 1.0)) + 1
    return np.concatenate(([0], breaks, [t.size])).astype(np.intp)


def _mark_speed_jumps(t: NDArray[np.float64], lat: NDArray[np.float64], lon: NDArray[np.float64],
                      config: FilterConfig, bounds: NDArray[np.intp] | None = None) -> NDArray[np.bool_]:
    """Return a boolean mask of fixes to mark as speed jumps.

    The track is cut wherever the implied speed between consecutive fixes exceeds the
    limit (``bounds``, from :func:`_piece_bounds`). Repeatedly, the shortest piece of at
    most ``max_jump_run`` fixes (the earliest of equally short ones) is marked and
    removed (then its neighbours are re-joined if they are consistent with each other),
    until no short piece remains or only one piece is left. This removes single spikes,
    short bursts of bad fixes and a bad first fix alike, while a real long jump (both
    sides long) is left alone.

    Pieces are a linked list keyed by their first fix and short ones wait in a heap of
    (length, first fix), so a track in many pieces costs O(p log p), not O(p²).
    """
    jump = np.zeros(t.size, dtype=bool)
    if bounds is None:
        bounds = _piece_bounds(t, lat, lon, config)
    if bounds.size <= 2:
        return jump
    starts = bounds[:-1].tolist()
    end = dict(zip(starts, bounds[1:].tolist(), strict=True))
    before: dict[int, int | None] = dict(zip(starts, [None, *starts[:-1]], strict=True))
    after: dict[int, int | None] = dict(zip(starts, [*starts[1:], None], strict=True))
    limit = config.max_jump_run
    short = [(end[s] - s, s) for s in starts if end[s] - s <= limit]
    heapq.heapify(short)
    count = len(starts)

    def too_fast(i: int, j: int) -> bool:
        dist = float(haversine_np(lat[i], lon[i], lat[j], lon[j]))
        return dist > config.max_speed_mps * max(t[j] - t[i], 1.0)

    while count > 1 and short:
        length, start = heapq.heappop(short)
        if end.get(start, -1) - start != length:
            continue  # removed, or grown since it was queued
        jump[start : end.pop(start)] = True
        left, right = before.pop(start), after.pop(start)
        if left is not None:
            after[left] = right
        if right is not None:
            before[right] = left
        count -= 1
        if left is not None and right is not None and not too_fast(end[left] - 1, right):
            end[left] = end.pop(right)
            after[left] = nxt = after.pop(right)
            before.pop(right)
            if nxt is not None:
                before[nxt] = left
            count -= 1
            if end[left] - left <= limit:
                heapq.heappush(short, (end[left] - left, left))
    return jump


def judge(cols: FixColumns, config: FilterConfig, now: datetime) -> Verdicts:
    """Check every fix (columns in, a status code per fix out).

    Jump pieces are spans of consecutive candidate fixes; ``_mark_speed_jumps`` works on
    the candidates only, so earlier-rejected fixes never anchor a jump decision.
    """
    now_us = epoch_us(now, "now")
    status = _basic_status(cols, config, now_us)
    order = np.argsort(cols.t_us, kind="stable")
    passed = order[status[order] == _CODE[FixStatus.OK]]
    times = cols.t_us[passed]
    repeated = np.zeros(times.size, dtype=bool)
    repeated[1:] = times[1:] == times[:-1]
    status[passed[repeated]] = _CODE[FixStatus.DUPLICATE]
    judged = passed[~repeated]
    t = cols.t_us[judged] / 1e6
    lat, lon = cols.lat[judged], cols.lon[judged]
    bounds = _piece_bounds(t, lat, lon, config)
    status[judged[_mark_speed_jumps(t, lat, lon, config, bounds)]] = _CODE[FixStatus.SPEED_JUMP]
    return Verdicts(status, order, judged, bounds)


def _reason(fix: Fix, status: FixStatus, config: FilterConfig, now: datetime) -> str:
    """Why ``fix`` got ``status`` (its values in the words of the check that failed)."""
    if status is FixStatus.INVALID:
        lat, lon = _number(fix.lat), _number(fix.lon)
        if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
            return f"coordinates out of range: ({fix.lat}, {fix.lon})"
        name = "accuracy_m" if _optional(fix.accuracy_m) < 0 else "speed_mps"
        return f"{name} must be a non-negative number, got {getattr(fix, name)}"
    if status is FixStatus.FUTURE:
        return f"{(fix.time - now).total_seconds():.0f} s in the future"
    if status is FixStatus.ANCIENT:
        return f"{(now - fix.time).total_seconds() / 86400:.1f} days old"
    if status is FixStatus.REJECTED_SOURCE:
        return f"source {fix.source!r} not accepted"
    if status is FixStatus.LOW_ACCURACY:
        return f"accuracy {fix.accuracy_m:.0f} m > {config.max_accuracy_m:.0f} m"
    if status is FixStatus.SPEED_JUMP:
        return f"unreachable from neighbouring fixes at {config.max_speed_mps:.0f} m/s"
    return _FIXED_REASONS[status]


_FIXED_REASONS = {
    FixStatus.OK: "",
    FixStatus.ZERO: "position (0, 0)",
    FixStatus.OUTSIDE_HOURS: "outside working hours",
    FixStatus.MOCK: "mock location provider",
    FixStatus.DUPLICATE: "same fix time as the previous fix",
}


def filter_fixes(fixes: Sequence[Fix], config: FilterConfig, now: datetime) -> list[CheckedFix]:
    """Check every fix; return them sorted by time (stable) with a status and reason each."""
    now = require_aware(now, "now")
    verdicts = judge(FixColumns.from_fixes(fixes), config, now)
    out = []
    for i in verdicts.order.tolist():
        status = verdicts.of(i)
        out.append(CheckedFix(fixes[i], status, _reason(fixes[i], status, config, now), i))
    return out
