from datetime import UTC, datetime, time, timedelta, timezone

import numpy as np
import pytest

from lbs.errors import InvalidConfig, InvalidCoordinate, InvalidTime
from lbs.hours import WorkingHours
from lbs.points import Fix, Point, epoch_us


def test_fix_time_normalised_to_utc():
    fix = Fix(time=datetime(2024, 5, 6, 9, 0, tzinfo=timezone(timedelta(hours=8))), lat=1, lon=2)
    assert fix.time == datetime(2024, 5, 6, 1, 0, tzinfo=UTC)
    assert fix.time.tzinfo is UTC


def test_fix_rejects_naive_time_but_keeps_bad_coordinates():
    with pytest.raises(InvalidTime):
        Fix(time=datetime(2024, 5, 6, 9, 0), lat=1, lon=2)
    assert Fix(time=datetime(2024, 5, 6, tzinfo=UTC), lat=999, lon=0).lat == 999


def test_point_validates():
    assert Point(31.2, 121.5).lon == 121.5
    with pytest.raises(InvalidCoordinate):
        Point(-91, 0)


def test_working_hours_in_local_zone():
    hours = WorkingHours(start=time(9), end=time(18), tz="Asia/Shanghai")
    monday_0830_local = datetime(2024, 5, 6, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai
    monday_0930_local = datetime(2024, 5, 6, 1, 30, tzinfo=UTC)
    saturday_noon_local = datetime(2024, 5, 11, 4, 0, tzinfo=UTC)
    assert not hours.contains(monday_0830_local)
    assert hours.contains(monday_0930_local)
    assert not hours.contains(saturday_noon_local)


def test_overnight_shift_belongs_to_start_day():
    hours = WorkingHours(start=time(22), end=time(6), weekdays=frozenset({4}), tz="UTC")  # Friday night
    assert hours.contains(datetime(2024, 5, 10, 23, 0, tzinfo=UTC))
    assert hours.contains(datetime(2024, 5, 11, 5, 0, tzinfo=UTC))
    assert not hours.contains(datetime(2024, 5, 12, 5, 0, tzinfo=UTC))


def test_bad_hours_config():
    with pytest.raises(InvalidConfig):
        WorkingHours(tz="Mars/Olympus")
    with pytest.raises(InvalidConfig):
        WorkingHours(weekdays=frozenset({7}))


def test_working_hours_across_daylight_saving_changes():
    # Berlin springs forward at 01:00 UTC on 2024-03-31 (02:00 CET → 03:00 CEST).
    hours = WorkingHours(start=time(2, 30), end=time(3, 30), weekdays=frozenset(range(7)), tz="Europe/Berlin")
    assert not hours.contains(datetime(2024, 3, 31, 0, 59, 59, 999_999, tzinfo=UTC))  # 01:59:59 CET
    assert hours.contains(datetime(2024, 3, 31, 1, 0, tzinfo=UTC))  # 03:00 CEST
    assert not hours.contains(datetime(2024, 3, 31, 1, 30, tzinfo=UTC))  # 03:30 CEST
    # Lord Howe Island moves by 30 minutes at 15:30 UTC on 2024-10-05 (02:00 +10:30 → 02:30 +11),
    # inside one UTC hour: a batch with fixes on both sides of the change.
    howe = WorkingHours(start=time(1, 55), end=time(2, 29), weekdays=frozenset(range(7)), tz="Australia/Lord_Howe")
    times = [datetime(2024, 10, 5, 15, m, tzinfo=UTC) for m in (24, 26, 29, 30, 31, 59)]
    expected = [False, True, True, False, False, False]  # 01:54, 01:56, 01:59 (+10:30); 02:30, 02:31, 03:00 (+11)
    assert howe.contains_us(np.array([epoch_us(t) for t in times])).tolist() == expected
    assert [howe.contains(t) for t in times] == expected
