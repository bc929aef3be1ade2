from datetime import time, timedelta

import pytest

from lbs.checkin import CheckinPolicy, CheckinStatus, verify_checkin
from lbs.dispatch import DispatchConfig, Exclusion, RankBy, RepState, rank_reps
from lbs.errors import InvalidConfig, InvalidCoordinate
from lbs.geo import destination
from lbs.hours import WorkingHours

SITE = (31.2304, 121.4737)


def at(distance_m, bearing=0.0):
    return destination(*SITE, bearing, distance_m)


@pytest.mark.parametrize(
    ("distance", "accuracy", "mock", "status"),
    [
        (50, 10, False, CheckinStatus.OK),
        (250, 10, False, CheckinStatus.OUTSIDE_GEOFENCE),
        (250, 80, False, CheckinStatus.OUTSIDE_GEOFENCE),  # accurate enough, reported outside
        (50, 300, False, CheckinStatus.LOW_ACCURACY),
        (1500, 300, False, CheckinStatus.OUTSIDE_GEOFENCE),  # outside even at best reading
        (50, None, False, CheckinStatus.LOW_ACCURACY),
        (50, 10, True, CheckinStatus.SUSPECTED_MOCK),
        (5000, 10, True, CheckinStatus.SUSPECTED_MOCK),
        (10, 0.0, False, CheckinStatus.SUSPECTED_MOCK),
    ],
)
def test_checkin_status_precedence(distance, accuracy, mock, status):
    result = verify_checkin(*at(distance), accuracy, mock, *SITE, CheckinPolicy(radius_m=200))
    assert result.status is status
    assert result.distance_m == pytest.approx(distance, rel=1e-6, abs=1e-6)
    assert result.reason


def test_checkin_per_customer_radius_and_errors():
    assert verify_checkin(*at(400), 10, False, *SITE, radius_m=500).ok
    assert verify_checkin(*at(50), None, False, *SITE, CheckinPolicy(require_accuracy=False)).ok
    with pytest.raises(InvalidCoordinate):
        verify_checkin(200, 0, 10, False, *SITE)
    with pytest.raises(InvalidConfig):
        verify_checkin(*at(1), 10, False, *SITE, radius_m=0)
    with pytest.raises(InvalidConfig):
        CheckinPolicy(max_accuracy_m=-1)


def test_dispatch_ranks_available_reps_and_explains_the_rest(t0):
    hours = WorkingHours(start=time(9), end=time(18), tz="Asia/Shanghai")
    fresh = t0 - timedelta(minutes=2)
    reps = [
        RepState("far", *at(8000), fresh),
        RepState("near", *at(1000), fresh),
        RepState("mid", *at(3000, 90), fresh, working_hours=hours),
        RepState("stale", *at(100), t0 - timedelta(hours=2)),
        RepState("busy", *at(200), fresh, busy=True),
        RepState("off", *at(300), fresh, on_duty=False),
        RepState("nopos", None, None, None),
        RepState("stale_busy", *at(50), t0 - timedelta(days=1), busy=True),
    ]
    result = rank_reps(reps, *SITE, now=t0)
    assert [r.rep_id for r in result.ranked] == ["near", "mid", "far"]
    assert result.best.distance_m == pytest.approx(1000, rel=1e-6)
    assert result.best.travel_s == pytest.approx(1000 * 1.35 / 8.3)
    reasons = {e.rep_id: e.reasons for e in result.excluded}
    assert reasons == {
        "stale": (Exclusion.STALE_POSITION,),
        "busy": (Exclusion.BUSY,),
        "off": (Exclusion.OFF_DUTY,),
        "nopos": (Exclusion.NO_POSITION,),
        "stale_busy": (Exclusion.STALE_POSITION, Exclusion.BUSY),
    }


def test_dispatch_road_times_and_max_distance(t0):
    reps = [RepState("a", *at(1000), t0), RepState("b", *at(2000), t0)]
    by_time = rank_reps(reps, *SITE, now=t0, travel_s={"a": 900.0, "b": 300.0})
    assert [r.rep_id for r in by_time.ranked] == ["b", "a"]
    by_distance = rank_reps(
        reps, *SITE, now=t0, config=DispatchConfig(rank_by=RankBy.DISTANCE), travel_s={"a": 900.0, "b": 300.0}
    )
    assert [r.rep_id for r in by_distance.ranked] == ["a", "b"]
    capped = rank_reps(reps, *SITE, now=t0, config=DispatchConfig(max_distance_m=1500))
    assert [r.rep_id for r in capped.ranked] == ["a"]
    assert capped.excluded[0].reasons == (Exclusion.TOO_FAR,)
    off_hours = rank_reps(
        [RepState("x", *at(10), t0, working_hours=WorkingHours(start=time(20), end=time(22)))], *SITE, now=t0
    )
    assert off_hours.best is None and off_hours.excluded[0].reasons == (Exclusion.OFF_DUTY,)
    with pytest.raises(InvalidConfig):
        DispatchConfig(detour_factor=0.5)
