"""Input and output types of day route planning."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from lbs.errors import InvalidConfig, InvalidTime
from lbs.points import check_lat_lon, require_aware


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Service may *start* between ``start`` and ``end`` (aware datetimes)."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", require_aware(self.start, "window.start"))
        object.__setattr__(self, "end", require_aware(self.end, "window.end"))
        if self.end < self.start:
            raise InvalidTime("time window ends before it starts", field="time_windows")


@dataclass(frozen=True, slots=True)
class PlanCustomer:
    """A customer to visit. No windows = any time within the rep's hours.

    ``priority`` 0–100: higher is kept first when not everything fits (then as many
    visits as possible, then the least travel).
    """

    id: Hashable
    lat: float
    lon: float
    service_s: int = 1800
    time_windows: tuple[TimeWindow, ...] = ()
    priority: int = 0

    def __post_init__(self) -> None:
        check_lat_lon(self.lat, self.lon, f"customer {self.id}")
        if not (isinstance(self.service_s, int) and self.service_s >= 0):
            raise InvalidConfig("service_s must be a non-negative integer", field="service_s")
        if not (isinstance(self.priority, int) and 0 <= self.priority <= 100):
            raise InvalidConfig("priority must be an integer 0..100", field="priority")
        object.__setattr__(self, "time_windows", tuple(sorted(self.time_windows, key=lambda w: w.start)))


@dataclass(frozen=True, slots=True)
class PlanRep:
    """A rep's day: leaves ``start`` no earlier than ``shift_start``, back at ``end`` by ``shift_end``."""

    id: Hashable
    start: tuple[float, float]
    shift_start: datetime
    shift_end: datetime
    end: tuple[float, float] | None = None  # None: back to start
    max_visits: int | None = None

    def __post_init__(self) -> None:
        check_lat_lon(*self.start, f"rep {self.id} start")
        if self.end is not None:
            check_lat_lon(*self.end, f"rep {self.id} end")
        object.__setattr__(self, "shift_start", require_aware(self.shift_start, "shift_start"))
        object.__setattr__(self, "shift_end", require_aware(self.shift_end, "shift_end"))
        if self.shift_end <= self.shift_start:
            raise InvalidTime("shift_end must be after shift_start", field="shift_end")
        if self.max_visits is not None and not (isinstance(self.max_visits, int) and self.max_visits >= 0):
            raise InvalidConfig("max_visits must be a non-negative integer", field="max_visits")

    @property
    def end_point(self) -> tuple[float, float]:
        return self.start if self.end is None else self.end


class UnassignedReason(StrEnum):
    WINDOW_OUTSIDE_HOURS = "window_outside_hours"  # no window overlaps any rep's hours
    UNREACHABLE = "unreachable"  # cannot be served even as a rep's only visit
    NO_TIME = "no_time"  # possible alone, but not together with the kept visits


@dataclass(frozen=True, slots=True)
class PlannedVisit:
    customer_id: Hashable
    arrival: datetime
    start: datetime  # service start (after waiting for the window)
    departure: datetime
    travel_s: int  # from the previous stop
    distance_m: int

    @property
    def wait_s(self) -> float:
        return (self.start - self.arrival).total_seconds()


@dataclass(frozen=True, slots=True)
class RepRoute:
    rep_id: Hashable
    depart: datetime
    visits: tuple[PlannedVisit, ...]
    return_travel_s: int
    return_distance_m: int
    arrive_end: datetime

    @property
    def travel_s(self) -> int:
        return sum(v.travel_s for v in self.visits) + self.return_travel_s

    @property
    def distance_m(self) -> int:
        return sum(v.distance_m for v in self.visits) + self.return_distance_m


@dataclass(frozen=True, slots=True)
class Unassigned:
    customer_id: Hashable
    reason: UnassignedReason
    detail: str


@dataclass(frozen=True, slots=True)
class RoutePlan:
    routes: tuple[RepRoute, ...]
    unassigned: tuple[Unassigned, ...]
    solver: str
    solve_s: float = field(compare=False)

    @property
    def travel_s(self) -> int:
        return sum(r.travel_s for r in self.routes)

    @property
    def visit_count(self) -> int:
        return sum(len(r.visits) for r in self.routes)
