"""The organisation's location settings (server.config.Settings) turned into ``lbs`` configurations."""

from __future__ import annotations

from datetime import time
from functools import lru_cache

from crm.errors import DomainError
from lbs.checkin import CheckinPolicy
from lbs.dispatch import DispatchConfig, RankBy
from lbs.errors import LbsError
from lbs.filtering import FilterConfig
from lbs.hours import WorkingHours
from lbs.osrm import OsrmTableMatrix
from lbs.routing import MatrixProvider, StraightLineMatrix
from lbs.stops import StopConfig
from lbs.trajectory import TrajectoryConfig
from lbs.visits import ReviewConfig
from server.config import Settings
from server.locations.ingest import FixPolicy


def _clock(text: str) -> time:
    try:
        return time.fromisoformat(text.strip())
    except ValueError:
        raise DomainError(f"FIELDCRM_TRACKING_HOURS: bad time {text!r} (use HH:MM)", field="tracking_hours") from None


def _weekdays(text: str) -> frozenset[int]:
    """ISO weekdays ("1-5", "1,3,5", "6-7") → Python weekdays (Monday 0)."""
    days: set[int] = set()
    try:
        for part in text.split(","):
            first, _, last = part.strip().partition("-")
            days.update(range(int(first), int(last or first) + 1))
    except ValueError:
        raise DomainError(f"FIELDCRM_TRACKING_DAYS: cannot read {text!r}", field="tracking_days") from None
    if not days or not days <= set(range(1, 8)):
        raise DomainError("FIELDCRM_TRACKING_DAYS: days are 1 (Monday) … 7 (Sunday)", field="tracking_days")
    return frozenset(d - 1 for d in days)


@lru_cache(maxsize=16)
def _hours(hours: str, days: str, tz: str) -> WorkingHours | None:
    if hours.strip().lower() == "always" and days.strip() == "1-7":
        return None
    weekdays = _weekdays(days)
    try:
        if hours.strip().lower() == "always":
            return WorkingHours(time(0), time(0), weekdays, tz)
        start, _, end = hours.partition("-")
        return WorkingHours(_clock(start), _clock(end), weekdays, tz)
    except LbsError as exc:
        raise DomainError(f"tracking hours: {exc}", field="tracking_hours") from exc


def working_hours(settings: Settings) -> WorkingHours | None:
    """Tracking hours; None tracks around the clock."""
    return _hours(settings.tracking_hours, settings.tracking_days, settings.time_zone)


def shift_hours(settings: Settings) -> WorkingHours:
    """The working day used to plan routes and to decide who is on duty (whole day when unset)."""
    return working_hours(settings) or WorkingHours(time(0), time(0), frozenset(range(7)), settings.time_zone)


def filter_config(settings: Settings) -> FilterConfig:
    sources = frozenset(s.strip() for s in settings.location_rejected_sources.split(",") if s.strip())
    return FilterConfig(
        max_accuracy_m=settings.location_max_accuracy_m,
        future_tolerance_s=settings.location_future_tolerance_s,
        max_age_s=settings.location_max_age_days * 86400.0,
        max_speed_mps=settings.location_max_speed_mps,
        reject_mock=settings.location_reject_mock,
        rejected_sources=sources,
        working_hours=working_hours(settings),
    )


def fix_policy(settings: Settings) -> FixPolicy:
    return FixPolicy(filter_config(settings), settings.stop_radius_m, settings.time_zone)


def stop_config(settings: Settings) -> StopConfig:
    return StopConfig(radius_m=settings.stop_radius_m, min_duration_s=settings.stop_min_duration_s)


def trajectory_config(settings: Settings) -> TrajectoryConfig:
    return TrajectoryConfig(
        filter=filter_config(settings),
        stops=stop_config(settings),
        gap_s=settings.track_gap_s,
        simplify_tolerance_m=settings.track_simplify_m,
    )


def checkin_policy(settings: Settings) -> CheckinPolicy:
    return CheckinPolicy(radius_m=settings.checkin_radius_m, max_accuracy_m=settings.checkin_max_accuracy_m)


def review_config(settings: Settings) -> ReviewConfig:
    office = (
        ((settings.office_lat, settings.office_lon),)
        if settings.office_lat is not None and settings.office_lon is not None
        else ()
    )
    return ReviewConfig(
        visit_radius_m=settings.checkin_radius_m,
        long_idle_s=settings.long_idle_s,
        gap_anomaly_s=max(settings.track_gap_s, 1800.0),
        exempt_points=office,
        checkin_policy=checkin_policy(settings),
    )


def dispatch_config(settings: Settings) -> DispatchConfig:
    try:
        rank_by = RankBy(settings.dispatch_rank_by)
    except ValueError:
        raise DomainError("FIELDCRM_DISPATCH_RANK_BY must be travel_time or distance", field="rank_by") from None
    return DispatchConfig(
        max_fix_age_s=settings.dispatch_max_fix_age_s,
        rank_by=rank_by,
        detour_factor=settings.travel_detour_factor,
        speed_mps=settings.travel_speed_mps,
    )


def matrix_provider(settings: Settings) -> MatrixProvider:
    """Travel times: the OSRM-compatible service when configured, else straight line × detour."""
    straight = StraightLineMatrix(settings.travel_detour_factor, settings.travel_speed_mps)
    if settings.osrm_url:
        return OsrmTableMatrix(settings.osrm_url, settings.osrm_profile, fallback=straight)
    return straight
