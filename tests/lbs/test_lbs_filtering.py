from datetime import UTC, datetime, time, timedelta

import pytest

from lbs.errors import InvalidConfig
from lbs.filtering import FilterConfig, FixStatus, filter_fixes
from lbs.geo import destination
from lbs.hours import WorkingHours
from lbs.points import Fix

BASE = (31.2304, 121.4737)


def walk(t0, count, step_s=10.0, step_m=8.0, start=BASE):
    fixes, (lat, lon) = [], start
    for i in range(count):
        fixes.append(Fix(time=t0 + timedelta(seconds=i * step_s), lat=lat, lon=lon, accuracy_m=10.0))
        lat, lon = destination(lat, lon, 45.0, step_m)
    return fixes


def statuses(checked):
    return [c.status for c in checked]


def test_clean_track_is_all_ok(t0):
    out = filter_fixes(walk(t0, 50), FilterConfig(), now=t0 + timedelta(hours=1))
    assert all(c.ok for c in out) and len(out) == 50


def test_each_bad_kind_is_marked_and_kept(t0):
    now = t0 + timedelta(hours=1)
    good = walk(t0, 20)
    bad = [
        Fix(time=t0 + timedelta(seconds=5), lat=float("nan"), lon=1.0),
        Fix(time=t0 + timedelta(seconds=15), lat=0.0, lon=0.0),
        Fix(time=now + timedelta(hours=2), lat=BASE[0], lon=BASE[1]),
        Fix(time=now - timedelta(days=30), lat=BASE[0], lon=BASE[1]),
        Fix(time=t0 + timedelta(seconds=25), lat=BASE[0], lon=BASE[1], mock=True),
        Fix(time=t0 + timedelta(seconds=35), lat=BASE[0], lon=BASE[1], accuracy_m=900.0),
        Fix(time=good[5].time, lat=good[5].lat, lon=good[5].lon),
        Fix(time=t0 + timedelta(seconds=45), lat=BASE[0], lon=BASE[1], accuracy_m=-3.0),
    ]
    out = filter_fixes(good + bad, FilterConfig(), now=now)
    assert len(out) == len(good) + len(bad)
    by_index = {c.index: c.status for c in out}
    assert [by_index[len(good) + k] for k in range(len(bad))] == [
        FixStatus.INVALID,
        FixStatus.ZERO,
        FixStatus.FUTURE,
        FixStatus.ANCIENT,
        FixStatus.MOCK,
        FixStatus.LOW_ACCURACY,
        FixStatus.DUPLICATE,
        FixStatus.INVALID,
    ]
    assert all(by_index[k] is FixStatus.OK for k in range(len(good)))
    assert all(c.reason for c in out if not c.ok)


def test_output_sorted_by_time_with_input_index(t0):
    fixes = walk(t0, 5)[::-1]
    out = filter_fixes(fixes, FilterConfig(), now=t0 + timedelta(hours=1))
    assert [c.fix.time for c in out] == sorted(f.time for f in fixes)
    assert [c.index for c in out] == [4, 3, 2, 1, 0]


@pytest.mark.parametrize("position", [0, 10, 39])
def test_single_spike_is_a_speed_jump_wherever_it_is(t0, position):
    fixes = walk(t0, 40)
    spike_lat, spike_lon = destination(fixes[position].lat, fixes[position].lon, 90.0, 5000.0)
    fixes[position] = Fix(time=fixes[position].time, lat=spike_lat, lon=spike_lon, accuracy_m=10.0)
    out = filter_fixes(fixes, FilterConfig(), now=t0 + timedelta(hours=1))
    jumps = [c.index for c in out if c.status is FixStatus.SPEED_JUMP]
    assert jumps == [position]


def test_burst_of_consistent_bad_fixes_is_removed(t0):
    fixes = walk(t0, 60)
    for k in range(20, 23):
        lat, lon = destination(fixes[k].lat, fixes[k].lon, 180.0, 3000.0)
        fixes[k] = Fix(time=fixes[k].time, lat=lat, lon=lon)
    out = filter_fixes(fixes, FilterConfig(), now=t0 + timedelta(hours=1))
    assert sorted(c.index for c in out if not c.ok) == [20, 21, 22]


def test_real_relocation_after_long_pause_is_not_a_jump(t0):
    first = walk(t0, 20)
    later = walk(t0 + timedelta(hours=1), 20, start=destination(*BASE, 0.0, 30_000.0))
    out = filter_fixes(first + later, FilterConfig(), now=t0 + timedelta(hours=2))
    assert all(c.ok for c in out)


def test_working_hours_and_source_rules(t0):
    hours = WorkingHours(start=time(9), end=time(18), tz="Asia/Shanghai")
    cfg = FilterConfig(working_hours=hours, rejected_sources=frozenset({"network"}))
    early = Fix(time=datetime(2024, 5, 6, 0, 0, tzinfo=UTC), lat=BASE[0], lon=BASE[1])  # 08:00 local
    net = Fix(time=t0, lat=BASE[0], lon=BASE[1], source="network")
    out = filter_fixes([early, net], cfg, now=t0)
    assert statuses(out) == [FixStatus.OUTSIDE_HOURS, FixStatus.REJECTED_SOURCE]


def test_mock_kept_when_policy_allows(t0):
    fix = Fix(time=t0, lat=BASE[0], lon=BASE[1], mock=True)
    assert filter_fixes([fix], FilterConfig(reject_mock=False), now=t0)[0].ok


def test_bad_config_is_rejected():
    with pytest.raises(InvalidConfig):
        FilterConfig(max_speed_mps=0)
    with pytest.raises(InvalidConfig):
        FilterConfig(max_accuracy_m=float("nan"))
