from datetime import timedelta

import pytest

from lbs.geo import destination
from lbs.plan_actual import ActualVisit, Outcome, actual_visits, compare_plan
from lbs.points import Fix
from lbs.routing import PlanCustomer, PlannedVisit, PlanRep, TimeWindow, plan_routes
from lbs.trajectory import analyze_day
from lbs.visits import AnomalyKind, CheckIn, ReviewConfig, Site, match_visits, review_day

OFFICE = (31.2304, 121.4737)
SHOP = destination(*OFFICE, 90, 3000)
CAFE = destination(*OFFICE, 0, 4000)  # not a customer


def scripted_day(t0):
    """Office → drive → shop 30 min → drive with a 40-min tracking gap → cafe 2 h (mock at the end)."""
    fixes, t, here = [], t0, OFFICE

    def emit(point, mock=False):
        nonlocal t
        fixes.append(Fix(time=t, lat=point[0], lon=point[1], accuracy_m=8.0, mock=mock))
        t += timedelta(seconds=10)

    def drive(target, skip_minutes=0):
        nonlocal here, t
        steps = 60
        for k in range(1, steps + 1):
            if skip_minutes and steps // 4 < k <= 3 * steps // 4:
                continue  # tracker silent for the middle half of the drive
            if skip_minutes and k == 3 * steps // 4 + 1:
                t += timedelta(minutes=skip_minutes)
            frac = k / steps
            emit((here[0] + (target[0] - here[0]) * frac, here[1] + (target[1] - here[1]) * frac))
        here = target

    def stay(minutes, mock_tail=0):
        count = minutes * 6
        for k in range(count):
            emit(destination(*here, k * 37 % 360, 10.0), mock=k >= count - mock_tail)

    stay(2)
    drive(SHOP)
    stay(30)
    drive(CAFE, skip_minutes=40)
    stay(120, mock_tail=6)
    return fixes


def test_day_review_finds_visit_and_anomalies(t0):
    fixes = scripted_day(t0)
    day = analyze_day(fixes, now=fixes[-1].time + timedelta(hours=1))
    assert len(day.stops) == 2  # office stay is too short
    sites = [Site("shop", *SHOP), Site("office", *OFFICE)]
    shop_stop = day.stops[0]
    good = CheckIn("k1", "shop", shop_stop.start_time + timedelta(minutes=5), *SHOP, accuracy_m=10)
    fake = CheckIn("k2", "shop", day.stops[1].start_time + timedelta(minutes=30), *SHOP, accuracy_m=10)
    mocked = CheckIn("k3", "office", t0 + timedelta(minutes=1), *OFFICE, accuracy_m=5, mock=True)
    review = review_day(day, sites, [fake, good, mocked], ReviewConfig())
    assert [(v.customer_id, round(v.duration_s / 60)) for v in review.visits] == [("shop", 30)]
    assert [c.stop_index for c in review.checkins] == [None, 0, None]
    kinds = [(a.kind, a.ref) for a in review.anomalies]
    assert (AnomalyKind.CHECKIN_SUSPECTED_MOCK, "k3") in kinds
    assert (AnomalyKind.CHECKIN_WITHOUT_STOP, "k3") in kinds
    assert (AnomalyKind.CHECKIN_WITHOUT_STOP, "k2") in kinds
    assert (AnomalyKind.CHECKIN_WITHOUT_STOP, "k1") not in kinds
    assert [a.kind for a in review.anomalies].count(AnomalyKind.TRACKING_GAP) == 1
    assert [a.kind for a in review.anomalies].count(AnomalyKind.LONG_IDLE) == 1
    mock = [a for a in review.anomalies if a.kind is AnomalyKind.MOCK_LOCATION]
    assert len(mock) == 1 and mock[0].detail.startswith("6 fixes")
    exempt = review_day(day, sites, [], ReviewConfig(exempt_points=(CAFE,)))
    assert AnomalyKind.LONG_IDLE not in [a.kind for a in exempt.anomalies]


def test_match_visits_respects_site_radius(t0):
    fixes = scripted_day(t0)
    day = analyze_day(fixes, now=fixes[-1].time)
    off_by_300 = destination(*SHOP, 0, 300)
    assert match_visits(day.stops, [Site("s", *off_by_300)]) == []
    assert [v.customer_id for v in match_visits(day.stops, [Site("s", *off_by_300, radius_m=400)])] == ["s"]


def _planned(customer_id, arrival):
    return PlannedVisit(customer_id, arrival, arrival, arrival + timedelta(minutes=20), 600, 5000)


def test_plan_vs_actual(t0):
    h = timedelta(hours=1)
    planned = [
        _planned("A", t0 + h),
        _planned("B", t0 + 2 * h),
        _planned("C", t0 + 3 * h),
        _planned("D", t0 + 4 * h),
    ]
    windows = {"D": (TimeWindow(t0 + 5 * h, t0 + 6 * h),)}
    actual = [
        ActualVisit("B", t0 + 1.5 * h),  # 30 min early: inside tolerance
        ActualVisit("A", t0 + 3 * h),  # 2 h late
        ActualVisit("X", t0 + 3.5 * h, source="checkin"),  # not planned
        ActualVisit("D", t0 + 5.5 * h),  # late against the plan, but inside its window
        ActualVisit("B", t0 + 7 * h),  # second visit to B is ignored
    ]
    result = compare_plan(planned, actual, windows)
    assert [(i.customer_id, i.outcome) for i in result.items] == [
        ("A", Outcome.LATE),
        ("B", Outcome.ON_TIME),
        ("C", Outcome.MISSED),
        ("D", Outcome.ON_TIME),
    ]
    assert result.items[0].delay_s == 7200 and result.items[2].actual_arrival is None
    assert [u.customer_id for u in result.unplanned] == ["X"]
    assert result.done == 3 and result.missed == 1
    assert result.order_score == pytest.approx(2 / 3)  # B before A, then D
    early = compare_plan([_planned("A", t0 + 4 * h)], [ActualVisit("A", t0 + h)])
    assert early.items[0].outcome is Outcome.EARLY
    assert compare_plan(planned, []).order_score == 1.0


def test_plan_built_by_the_planner_compares_cleanly(t0):
    customers = [
        PlanCustomer(n, *destination(*OFFICE, b, 2000)) for n, b in (("A", 0), ("B", 120), ("C", 240))
    ]
    route = plan_routes([PlanRep("r", OFFICE, t0, t0 + timedelta(hours=9))], customers).routes[0]
    actual = [ActualVisit(v.customer_id, v.arrival + timedelta(minutes=3)) for v in route.visits]
    result = compare_plan(route.visits, actual)
    assert all(i.outcome is Outcome.ON_TIME for i in result.items) and result.order_score == 1.0


def test_actual_visits_merges_stops_and_checkins(t0):
    from lbs.visits import Visit

    visits = [Visit("A", 0, t0 + timedelta(hours=1), t0 + timedelta(hours=2), 20.0)]
    checkins = [
        CheckIn("k1", "A", t0 + timedelta(hours=1), *OFFICE),
        CheckIn("k2", "B", t0, *OFFICE),
    ]
    merged = actual_visits(visits, checkins)
    assert [(m.customer_id, m.source) for m in merged] == [("B", "checkin"), ("A", "stop")]
