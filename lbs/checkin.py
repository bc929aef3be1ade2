"""Check-in verification against a customer's geofence.

Status precedence (first match wins), chosen so the status names the strongest fact:

1. ``suspected_mock``   – the phone flagged a mock provider, or reported accuracy 0
   (no real GNSS fix has zero error); position cannot be trusted at all.
2. ``outside_geofence`` – even the most favourable reading (distance − accuracy) is
   beyond the radius: definitely outside, however poor the accuracy.
3. ``low_accuracy``     – accuracy worse than ``max_accuracy_m`` (or missing when
   ``require_accuracy``): inside cannot be confirmed.
4. ``outside_geofence`` – the reported position is beyond the radius.
5. ``ok``.

Out-of-range check-ins are kept with their status, never refused (the caller stores them).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from lbs.errors import require_fields, require_number
from lbs.geo import haversine_m
from lbs.points import check_lat_lon


class CheckinStatus(StrEnum):
    OK = "ok"
    OUTSIDE_GEOFENCE = "outside_geofence"
    LOW_ACCURACY = "low_accuracy"
    SUSPECTED_MOCK = "suspected_mock"


@dataclass(frozen=True, slots=True)
class CheckinPolicy:
    """Per-organisation defaults; a customer may carry its own radius."""

    radius_m: float = 200.0
    max_accuracy_m: float = 100.0
    require_accuracy: bool = True

    def __post_init__(self) -> None:
        require_fields(self, "radius_m", "max_accuracy_m", positive=True)


@dataclass(frozen=True, slots=True)
class CheckinResult:
    status: CheckinStatus
    distance_m: float
    radius_m: float
    accuracy_m: float | None
    reason: str

    @property
    def ok(self) -> bool:
        return self.status is CheckinStatus.OK


def verify_checkin(
    lat: float,
    lon: float,
    accuracy_m: float | None,
    mock: bool,
    site_lat: float,
    site_lon: float,
    policy: CheckinPolicy | None = None,
    radius_m: float | None = None,
) -> CheckinResult:
    """Verify a check-in fix against the site; ``radius_m`` overrides the policy radius."""
    pol = policy or CheckinPolicy()
    check_lat_lon(lat, lon, "checkin")
    check_lat_lon(site_lat, site_lon, "site")
    radius = pol.radius_m if radius_m is None else radius_m
    require_number(radius, "radius_m", positive=True)
    if accuracy_m is not None:
        require_number(accuracy_m, "accuracy_m")
    distance = haversine_m(lat, lon, site_lat, site_lon)

    def result(status: CheckinStatus, reason: str) -> CheckinResult:
        return CheckinResult(status, distance, radius, accuracy_m, reason)

    if mock:
        return result(CheckinStatus.SUSPECTED_MOCK, "mock location provider")
    if accuracy_m == 0:
        return result(CheckinStatus.SUSPECTED_MOCK, "accuracy of exactly 0 m")
    if distance - (accuracy_m or 0.0) > radius:
        return result(CheckinStatus.OUTSIDE_GEOFENCE, f"{distance:.0f} m from site, radius {radius:.0f} m")
    if accuracy_m is None and pol.require_accuracy:
        return result(CheckinStatus.LOW_ACCURACY, "no accuracy reported")
    if accuracy_m is not None and accuracy_m > pol.max_accuracy_m:
        return result(CheckinStatus.LOW_ACCURACY, f"accuracy {accuracy_m:.0f} m > {pol.max_accuracy_m:.0f} m")
    if distance > radius:
        return result(CheckinStatus.OUTSIDE_GEOFENCE, f"{distance:.0f} m from site, radius {radius:.0f} m")
    return result(CheckinStatus.OK, f"{distance:.0f} m from site")
