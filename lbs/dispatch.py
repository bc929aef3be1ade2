"""Rank reps for a service request: nearest available first, with reasons for the rest."""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from lbs.errors import InvalidConfig, require_fields
from lbs.geo import haversine_m
from lbs.hours import WorkingHours
from lbs.points import check_lat_lon, require_aware


class RankBy(StrEnum):
    DISTANCE = "distance"
    TRAVEL_TIME = "travel_time"


class Exclusion(StrEnum):
    NO_POSITION = "no_position"
    STALE_POSITION = "stale_position"
    OFF_DUTY = "off_duty"
    BUSY = "busy"
    TOO_FAR = "too_far"


@dataclass(frozen=True, slots=True)
class RepState:
    """What is known about a rep right now. ``on_duty`` overrides ``working_hours`` if set."""

    rep_id: Hashable
    lat: float | None
    lon: float | None
    fix_time: datetime | None
    busy: bool = False
    working_hours: WorkingHours | None = None
    on_duty: bool | None = None


@dataclass(frozen=True, slots=True)
class DispatchConfig:
    max_fix_age_s: float = 900.0
    rank_by: RankBy = RankBy.TRAVEL_TIME
    detour_factor: float = 1.35
    speed_mps: float = 8.3  # ≈ 30 km/h urban driving
    max_distance_m: float | None = None

    def __post_init__(self) -> None:
        require_fields(self, "max_fix_age_s", "detour_factor", "speed_mps", positive=True)
        if self.detour_factor < 1:
            raise InvalidConfig("detour_factor must be at least 1", field="detour_factor")
        RankBy(self.rank_by)


@dataclass(frozen=True, slots=True)
class RankedRep:
    rep_id: Hashable
    distance_m: float
    travel_s: float
    fix_age_s: float


@dataclass(frozen=True, slots=True)
class ExcludedRep:
    rep_id: Hashable
    reasons: tuple[Exclusion, ...]
    distance_m: float | None


@dataclass(frozen=True, slots=True)
class DispatchResult:
    ranked: tuple[RankedRep, ...]
    excluded: tuple[ExcludedRep, ...]

    @property
    def best(self) -> RankedRep | None:
        return self.ranked[0] if self.ranked else None


def travel_estimate_s(distance_m: float, detour_factor: float, speed_mps: float) -> float:
    """Road travel time guessed from straight-line distance."""
    return distance_m * detour_factor / speed_mps


def rank_reps(
    reps: Sequence[RepState],
    lat: float,
    lon: float,
    now: datetime,
    config: DispatchConfig | None = None,
    travel_s: Mapping[Hashable, float] | None = None,
) -> DispatchResult:
    """Available reps ranked by ``config.rank_by`` (ties: distance, then rep id as text).

    A rep is excluded, with every reason that applies, when it has no position, its
    last fix is older than ``max_fix_age_s``, it is off duty or busy, or it is beyond
    ``max_distance_m``. ``travel_s`` may carry road travel times per rep (e.g. from an
    OSRM table); reps missing from it fall back to the straight-line estimate.
    """
    cfg = config or DispatchConfig()
    check_lat_lon(lat, lon, "request")
    now = require_aware(now, "now")
    ranked: list[RankedRep] = []
    excluded: list[ExcludedRep] = []
    for rep in reps:
        reasons: list[Exclusion] = []
        distance: float | None = None
        age = math.inf
        if rep.lat is None or rep.lon is None or rep.fix_time is None:
            reasons.append(Exclusion.NO_POSITION)
        else:
            check_lat_lon(rep.lat, rep.lon, f"rep {rep.rep_id}")
            distance = haversine_m(lat, lon, rep.lat, rep.lon)
            age = (now - require_aware(rep.fix_time, "fix_time")).total_seconds()
            if age > cfg.max_fix_age_s:
                reasons.append(Exclusion.STALE_POSITION)
        on_duty = rep.on_duty
        if on_duty is None:
            on_duty = rep.working_hours.contains(now) if rep.working_hours else True
        if not on_duty:
            reasons.append(Exclusion.OFF_DUTY)
        if rep.busy:
            reasons.append(Exclusion.BUSY)
        if distance is not None and cfg.max_distance_m is not None and distance > cfg.max_distance_m:
            reasons.append(Exclusion.TOO_FAR)
        if reasons or distance is None:
            excluded.append(ExcludedRep(rep.rep_id, tuple(reasons), distance))
            continue
        travel = travel_estimate_s(distance, cfg.detour_factor, cfg.speed_mps)
        if travel_s is not None and rep.rep_id in travel_s:
            travel = float(travel_s[rep.rep_id])
        ranked.append(RankedRep(rep.rep_id, distance, travel, max(0.0, age)))
    primary = (lambda r: r.distance_m) if cfg.rank_by is RankBy.DISTANCE else (lambda r: r.travel_s)
    ranked.sort(key=lambda r: (primary(r), r.distance_m, str(r.rep_id)))
    return DispatchResult(tuple(ranked), tuple(excluded))
