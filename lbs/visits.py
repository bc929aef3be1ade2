"""Day review: stops matched to customers, check-ins matched to stops, and anomalies."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from lbs.checkin import CheckinPolicy, CheckinResult, CheckinStatus, verify_checkin
from lbs.errors import InvalidCoordinate, require_fields
from lbs.filtering import FixStatus
from lbs.geo import haversine_m
from lbs.nearby import NearbyIndex
from lbs.points import check_lat_lon, require_aware
from lbs.stops import Stop
from lbs.trajectory import DayTrack


@dataclass(frozen=True, slots=True)
class Site:
    """A customer location; ``radius_m`` overrides the organisation's geofence radius."""

    id: Hashable
    lat: float
    lon: float
    radius_m: float | None = None

    def __post_init__(self) -> None:
        check_lat_lon(self.lat, self.lon, f"site {self.id}")


@dataclass(frozen=True, slots=True)
class Visit:
    """ "Visited X for N minutes": a stop within a customer's radius."""

    customer_id: Hashable
    stop_index: int  # position in DayTrack.stops
    arrival: datetime
    departure: datetime
    distance_m: float

    @property
    def duration_s(self) -> float:
        return (self.departure - self.arrival).total_seconds()


@dataclass(frozen=True, slots=True)
class CheckIn:
    id: Hashable
    customer_id: Hashable
    time: datetime
    lat: float
    lon: float
    accuracy_m: float | None = None
    mock: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "time", require_aware(self.time, "time"))
        check_lat_lon(self.lat, self.lon, f"check-in {self.id}")


@dataclass(frozen=True, slots=True)
class CheckedIn:
    checkin: CheckIn
    verification: CheckinResult | None  # None when the customer's site is unknown
    stop_index: int | None


class AnomalyKind(StrEnum):
    CHECKIN_WITHOUT_STOP = "checkin_without_stop"
    CHECKIN_OUTSIDE_GEOFENCE = "checkin_outside_geofence"
    CHECKIN_LOW_ACCURACY = "checkin_low_accuracy"
    CHECKIN_SUSPECTED_MOCK = "checkin_suspected_mock"
    LONG_IDLE = "long_idle"
    TRACKING_GAP = "tracking_gap"
    MOCK_LOCATION = "mock_location"


@dataclass(frozen=True, slots=True)
class Anomaly:
    kind: AnomalyKind
    start: datetime
    end: datetime
    detail: str
    ref: Hashable | None = None  # check-in id or customer id when relevant


@dataclass(frozen=True, slots=True)
class ReviewConfig:
    visit_radius_m: float = 150.0  # stop centre to customer, when the site has no radius
    checkin_slack_s: float = 600.0  # a check-in may be this long before/after its stop
    long_idle_s: float = 5400.0  # a stop this long at no customer (or exempt place)
    exempt_radius_m: float = 200.0
    exempt_points: tuple[tuple[float, float], ...] = ()  # home, office, depot
    gap_anomaly_s: float = 1800.0
    checkin_policy: CheckinPolicy = field(default_factory=CheckinPolicy)

    def __post_init__(self) -> None:
        names = ("visit_radius_m", "checkin_slack_s", "long_idle_s", "exempt_radius_m", "gap_anomaly_s")
        require_fields(self, *names, positive=True)


@dataclass(frozen=True, slots=True)
class DayReview:
    visits: tuple[Visit, ...]
    checkins: tuple[CheckedIn, ...]
    anomalies: tuple[Anomaly, ...]


def match_visits(stops: Sequence[Stop], sites: Sequence[Site], radius_m: float = 150.0) -> list[Visit]:
    """Each stop becomes a visit to the nearest site whose radius contains the stop centre."""
    if not sites or not stops:
        return []
    index = NearbyIndex(list(range(len(sites))), [s.lat for s in sites], [s.lon for s in sites])
    search = max([radius_m, *(s.radius_m or 0.0 for s in sites)])
    visits = []
    for k, stop in enumerate(stops):
        for n in index.within(stop.lat, stop.lon, search):
            site = sites[n.id]
            if n.distance_m <= (site.radius_m or radius_m):
                visits.append(Visit(site.id, k, stop.start_time, stop.end_time, n.distance_m))
                break
    return visits


def _stop_for_checkin(c: CheckIn, stops: Sequence[Stop], cfg: ReviewConfig) -> int | None:
    slack = timedelta(seconds=cfg.checkin_slack_s)
    best: tuple[float, int] | None = None
    for k, s in enumerate(stops):
        if s.start_time - slack <= c.time <= s.end_time + slack:
            d = haversine_m(c.lat, c.lon, s.lat, s.lon)
            if d <= cfg.visit_radius_m + s.radius_m + (c.accuracy_m or 0.0) and (best is None or d < best[0]):
                best = (d, k)
    return None if best is None else best[1]


_CHECKIN_ANOMALY = {
    CheckinStatus.OUTSIDE_GEOFENCE: AnomalyKind.CHECKIN_OUTSIDE_GEOFENCE,
    CheckinStatus.LOW_ACCURACY: AnomalyKind.CHECKIN_LOW_ACCURACY,
    CheckinStatus.SUSPECTED_MOCK: AnomalyKind.CHECKIN_SUSPECTED_MOCK,
}


def _mock_runs(day: DayTrack) -> list[Anomaly]:
    runs: list[Anomaly] = []
    first = last = None
    count = 0
    for c in [*day.checked, None]:
        if c is not None and c.status is FixStatus.MOCK:
            first = first or c.fix.time
            last, count = c.fix.time, count + 1
            continue
        if first is not None and last is not None:
            runs.append(
                Anomaly(AnomalyKind.MOCK_LOCATION, first, last, f"{count} fixes from a mock provider")
            )
        first = last = None
        count = 0
    return runs


def review_day(
    day: DayTrack, sites: Sequence[Site], checkins: Sequence[CheckIn], config: ReviewConfig | None = None
) -> DayReview:
    """Visits, verified check-ins and anomalies for one rep's day, anomalies sorted by time."""
    cfg = config or ReviewConfig()
    site_by_id = {s.id: s for s in sites}
    if len(site_by_id) != len(sites):
        raise InvalidCoordinate("site ids must be unique", field="sites")
    visits = match_visits(day.stops, sites, cfg.visit_radius_m)
    anomalies: list[Anomaly] = []
    checked: list[CheckedIn] = []
    for c in sorted(checkins, key=lambda c: c.time):
        site = site_by_id.get(c.customer_id)
        result = None
        if site is not None:
            result = verify_checkin(
                c.lat, c.lon, c.accuracy_m, c.mock, site.lat, site.lon, cfg.checkin_policy, site.radius_m
            )
            if result.status in _CHECKIN_ANOMALY:
                anomalies.append(
                    Anomaly(_CHECKIN_ANOMALY[result.status], c.time, c.time, result.reason, c.id)
                )
        stop = _stop_for_checkin(c, day.stops, cfg)
        if stop is None:
            anomalies.append(
                Anomaly(
                    AnomalyKind.CHECKIN_WITHOUT_STOP,
                    c.time,
                    c.time,
                    "no stop recorded near the check-in",
                    c.id,
                )
            )
        checked.append(CheckedIn(c, result, stop))
    visited = {v.stop_index for v in visits}
    for k, s in enumerate(day.stops):
        exempt = any(haversine_m(s.lat, s.lon, *p) <= cfg.exempt_radius_m for p in cfg.exempt_points)
        if s.duration_s >= cfg.long_idle_s and k not in visited and not exempt:
            minutes = s.duration_s / 60
            anomalies.append(
                Anomaly(
                    AnomalyKind.LONG_IDLE,
                    s.start_time,
                    s.end_time,
                    f"stopped {minutes:.0f} min at no customer",
                )
            )
    for g in day.gaps:
        if not g.in_stop and g.duration_s >= cfg.gap_anomaly_s:
            detail = f"no position for {g.duration_s / 60:.0f} min, moved {g.distance_m:.0f} m"
            anomalies.append(Anomaly(AnomalyKind.TRACKING_GAP, g.start, g.end, detail))
    anomalies += _mock_runs(day)
    anomalies.sort(key=lambda a: (a.start, a.kind.value))
    return DayReview(tuple(visits), tuple(checked), tuple(anomalies))
