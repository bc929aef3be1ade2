"""A rep's day: filtered fixes → cleaned track, stops, trips, gaps, totals, simplified line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from lbs.errors import require_fields
from lbs.filtering import CheckedFix, FilterConfig, FixStatus, filter_fixes
from lbs.points import Fix
from lbs.simplify import line_indices
from lbs.stops import Stop, StopConfig, detect_stops
from lbs.track import Track


@dataclass(frozen=True, slots=True)
class TrajectoryConfig:
    filter: FilterConfig = field(default_factory=FilterConfig)
    stops: StopConfig = field(default_factory=StopConfig)
    gap_s: float = 900.0  # a step between kept fixes longer than this is a tracking gap
    simplify_tolerance_m: float = 10.0

    def __post_init__(self) -> None:
        require_fields(self, "gap_s", "simplify_tolerance_m")


@dataclass(frozen=True, slots=True)
class Trip:
    """Movement between two stops (or from the first fix / to the last fix).

    ``moving_s`` excludes tracking gaps; ``distance_m`` is measured along kept fixes.
    """

    start_index: int
    end_index: int
    start_time: datetime
    end_time: datetime
    distance_m: float
    moving_s: float

    @property
    def duration_s(self) -> float:
        return (self.end_time - self.start_time).total_seconds()


@dataclass(frozen=True, slots=True)
class Gap:
    """No kept fix between ``start`` and ``end``; ``in_stop`` when both ends belong to one stop."""

    start_index: int
    start: datetime
    end: datetime
    distance_m: float
    in_stop: bool

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True, slots=True, eq=False)
class DayTrack:
    checked: tuple[CheckedFix, ...]
    track: Track  # ok fixes only, time ordered
    stops: tuple[Stop, ...]
    trips: tuple[Trip, ...]
    gaps: tuple[Gap, ...]
    simplified: tuple[int, ...]  # indices into ``track``: the replay line (see simplify.line_indices)

    @property
    def distance_m(self) -> float:
        """Total distance travelled: sum of trips (jitter inside stops is not counted)."""
        return sum(t.distance_m for t in self.trips)

    @property
    def moving_s(self) -> float:
        return sum(t.moving_s for t in self.trips)

    @property
    def stopped_s(self) -> float:
        return sum(s.duration_s for s in self.stops)

    @property
    def gap_s(self) -> float:
        return sum(g.duration_s for g in self.gaps if not g.in_stop)

    def count(self, status: FixStatus) -> int:
        return sum(1 for c in self.checked if c.status is status)


def _trip(track: Track, steps: np.ndarray, dt: np.ndarray, a: int, b: int, gap_s: float) -> Trip:
    moving = dt[a:b]
    return Trip(
        start_index=a,
        end_index=b,
        start_time=track.time_at(a),
        end_time=track.time_at(b),
        distance_m=float(steps[a:b].sum()),
        moving_s=float(moving[moving <= gap_s].sum()),
    )


def trips_between(track: Track, stops: Sequence[Stop], gap_s: float) -> list[Trip]:
    """Trips covering the track outside stops, joined to the stops' first/last fixes."""
    n = len(track)
    if n < 2:
        return []
    steps = track.step_distances()
    dt = np.diff(track.t)
    bounds = [0, *[i for s in stops for i in (s.start_index, s.end_index)], n - 1]
    trips = []
    for a, b in zip(bounds[0::2], bounds[1::2], strict=True):
        if b > a:
            trips.append(_trip(track, steps, dt, a, b, gap_s))
    return trips


def find_gaps(track: Track, stops: Sequence[Stop], gap_s: float) -> list[Gap]:
    if len(track) < 2:
        return []
    dt = np.diff(track.t)
    idx = np.flatnonzero(dt > gap_s)
    if idx.size == 0:
        return []
    in_stop = np.zeros(len(track), dtype=bool)
    for s in stops:
        in_stop[s.start_index : s.end_index] = True  # step k -> k+1 inside the stop
    steps = track.step_distances()
    return [
        Gap(
            start_index=int(k),
            start=track.time_at(int(k)),
            end=track.time_at(int(k) + 1),
            distance_m=float(steps[k]),
            in_stop=bool(in_stop[k]),
        )
        for k in idx
    ]


def analyze_day(fixes: Sequence[Fix], now: datetime, config: TrajectoryConfig | None = None) -> DayTrack:
    """Filter a rep's fixes and derive stops, trips, gaps and a simplified line."""
    cfg = config or TrajectoryConfig()
    checked = filter_fixes(fixes, cfg.filter, now)
    track = Track.from_checked(checked)
    stops = detect_stops(track, cfg.stops)
    ranges = [(s.start_index, s.end_index) for s in stops]
    simplified = line_indices(track, ranges, cfg.simplify_tolerance_m) if len(track) else []
    return DayTrack(
        checked=tuple(checked),
        track=track,
        stops=tuple(stops),
        trips=tuple(trips_between(track, stops, cfg.gap_s)),
        gaps=tuple(find_gaps(track, stops, cfg.gap_s)),
        simplified=tuple(int(i) for i in simplified),
    )


def day_bounds(track: Track) -> tuple[datetime, datetime] | None:
    """First and last kept fix time, or None for an empty track."""
    if len(track) == 0:
        return None
    return datetime.fromtimestamp(float(track.t[0]), tz=UTC), datetime.fromtimestamp(
        float(track.t[-1]), tz=UTC
    )
