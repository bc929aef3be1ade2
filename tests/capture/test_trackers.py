import contextlib
import json
import math
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capture import (
    Fix,
    FixSource,
    NotALocation,
    PayloadError,
    parse_osmand,
    parse_owntracks,
    parse_traccar_json,
)
from tests.capture.conftest import fuzz, read

NOW = datetime(2024, 5, 1, 7, 0, tzinfo=UTC)


def test_owntracks_location_from_the_android_app():
    fix = parse_owntracks(read("trackers", "owntracks_location_android.json"), device_key="dev-1")
    assert fix.speed_mps == pytest.approx(5.0)  # vel is km/h
    assert replace(fix, speed_mps=None) == Fix(
        device_key="dev-1", time=datetime(2024, 5, 1, 6, 30, 10, tzinfo=UTC), lat=31.230416, lon=121.473701,
        source=FixSource.OWNTRACKS, accuracy_m=12.0, bearing_deg=270.0,
        altitude_m=34.0, battery_pct=85.0, charging=False, mock=False, provider="u",
    )


def test_owntracks_device_key_falls_back_to_topic_then_tid():
    assert parse_owntracks(read("trackers", "owntracks_location_android.json")).device_key == (
        "owntracks/zhangsan/phone1"
    )
    minimal = parse_owntracks(json.loads(read("trackers", "owntracks_location_minimal.json")))
    assert (minimal.device_key, minimal.accuracy_m, minimal.charging) == ("ZS", None, None)


def test_owntracks_full_battery_counts_as_on_power_and_unknown_course_is_dropped():
    fix = parse_owntracks(read("trackers", "owntracks_location_charging.json"))
    assert fix.charging is True and fix.bearing_deg is None and fix.speed_mps == 0


@pytest.mark.parametrize(
    ("name", "kind"),
    [("owntracks_transition.json", "transition"), ("owntracks_waypoint.json", "waypoint"),
     ("owntracks_lwt.json", "lwt"), ("owntracks_card.json", "card"), ("owntracks_status.json", "status")],
)
def test_owntracks_other_types_are_not_locations(name, kind):
    assert parse_owntracks(read("trackers", name)) == NotALocation(kind)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"_type": "location", "lon": 1, "tst": 1714545010, "tid": "A"}, "lat"),
        ({"_type": "location", "lat": 91, "lon": 1, "tst": 1714545010, "tid": "A"}, "lat"),
        ({"_type": "location", "lat": 1, "lon": -180.5, "tst": 1714545010, "tid": "A"}, "lon"),
        ({"_type": "location", "lat": 1, "lon": 1, "tst": 1714545010}, "tid"),
        ({"_type": "location", "lat": "x", "lon": 1, "tst": 1714545010, "tid": "A"}, "lat"),
        ({"_type": "location", "lat": True, "lon": 1, "tst": 1714545010, "tid": "A"}, "lat"),
        ({"_type": "location", "lat": 1, "lon": 1, "tst": -1, "tid": "A"}, "tst"),
        ({"_type": "location", "lat": 1, "lon": 1, "tst": 1714545010, "tid": "A", "batt": 150}, "battery_pct"),
        ({"_type": "location", "lat": 1, "lon": 1, "tst": 1714545010, "tid": ["A"]}, "tid"),
        ({"lat": 1}, "_type"),
    ],
)
def test_owntracks_bad_values(payload, field):
    with pytest.raises(PayloadError) as caught:
        parse_owntracks(payload)
    assert caught.value.field == field


@pytest.mark.parametrize("body", ['{"_type":"location","lat":NaN,"lon":1,"tst":1,"tid":"A"}',
                                  '{"_type":"location","lat":1,"lon":Infinity,"tst":1,"tid":"A"}',
                                  "[1,2]", "not json", b"\xff\xfe", "{" * 100_000, " " * 300_000])
def test_hostile_json_bodies(body):
    with pytest.raises(PayloadError):
        parse_owntracks(body)


def test_traccar_client_query_speed_in_knots():
    fix = parse_osmand(read("trackers", "traccar_client_query.txt").strip())
    assert fix.device_key == "358240051111110" and fix.time == datetime(2024, 5, 1, 6, 30, 10, tzinfo=UTC)
    assert fix.speed_mps == pytest.approx(5.0, abs=1e-4)
    assert (fix.bearing_deg, fix.altitude_m, fix.accuracy_m, fix.battery_pct, fix.charging, fix.mock) == (
        270.0, 34.0, 12.0, 85.0, True, False,
    )


def test_osmand_millisecond_timestamp():
    fix = parse_osmand(read("trackers", "osmand_query.txt").strip())
    assert fix.time == datetime(2024, 5, 1, 6, 30, 10, 123000, tzinfo=UTC) and fix.device_key == "rep-zhangsan"


def test_deviceid_location_iso_time_and_mock():
    fix = parse_osmand(read("trackers", "traccar_query_location_iso_mock.txt").strip())
    assert (fix.lat, fix.lon, fix.mock, fix.charging, fix.bearing_deg) == (31.230416, 121.473701, True, False, 90)
    assert fix.time == datetime(2024, 5, 1, 6, 30, 10, tzinfo=UTC)


def test_osmand_mapping_and_missing_timestamp_uses_now():
    fix = parse_osmand({"id": "d1", "lat": "1.5", "lon": "2.5"}, now=NOW)
    assert fix.time == NOW and fix.source is FixSource.OSMAND
    with pytest.raises(PayloadError):
        parse_osmand({"id": "d1", "lat": "1.5", "lon": "2.5"})


@pytest.mark.parametrize(
    ("query", "field"),
    [("lat=1&lon=2&timestamp=1714545010", "id"), ("id=a&lat=nan&lon=2&timestamp=1714545010", "lat"),
     ("id=a&lat=1&lon=inf&timestamp=1714545010", "lon"), ("id=a&location=1;2&timestamp=1714545010", "location"),
     ("id=a&lat=1&lon=2&timestamp=yesterday", "timestamp"), ("id=a&lat=1&lon=2&timestamp=1e400", "timestamp"),
     ("id=a&lat=1&lon=2&timestamp=1714545010&mock=maybe", "mock"),
     ("id=a&lat=1&lon=2&timestamp=1714545010&speed=3000", "speed_mps")],
)
def test_osmand_bad_values(query, field):
    with pytest.raises(PayloadError) as caught:
        parse_osmand(query)
    assert caught.value.field == field


def test_traccar_client9_json():
    [fix] = parse_traccar_json(read("trackers", "traccar_client9.json"))
    assert fix.time == datetime(2024, 5, 1, 6, 30, 10, 123000, tzinfo=UTC)
    assert (fix.speed_mps, fix.bearing_deg, fix.accuracy_m, fix.battery_pct, fix.charging) == (
        5.2, 270.1, 12.5, 85.0, False,
    )
    assert fix.source is FixSource.TRACCAR_JSON and fix.provider == "motionchange"


def test_traccar_client9_batch_with_unknown_values_and_mock():
    first, second = parse_traccar_json(read("trackers", "traccar_client9_batch_mock.json"))
    assert (first.speed_mps, first.bearing_deg, first.battery_pct, first.mock) == (None, None, None, True)
    assert (second.battery_pct, second.mock, second.charging) == (50.0, False, True)


@pytest.mark.parametrize(
    "body",
    [{"location": {"coords": {"latitude": 1, "longitude": 2}}, "device_id": "x"},
     {"location": {"timestamp": "2024-05-01T06:30:10Z", "coords": {"latitude": 1}}, "device_id": "x"},
     {"location": {"timestamp": "2024-05-01T06:30:10Z", "coords": {"latitude": 1, "longitude": 2}}},
     {"location": [], "device_id": "x"}, {"location": [1], "device_id": "x"},
     {"location": [{"timestamp": 1}] * 1001, "device_id": "x"}],
)
def test_traccar_json_bad_bodies(body):
    with pytest.raises(PayloadError):
        parse_traccar_json(body)


def test_fix_refuses_naive_times():
    with pytest.raises(PayloadError):
        Fix(device_key="a", time=datetime(2024, 1, 1), lat=0, lon=0, source=FixSource.OSMAND)


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=10,
)
keys = st.sampled_from(["_type", "lat", "lon", "tst", "tid", "acc", "vel", "cog", "batt", "bs", "alt", "topic"])


@fuzz(300)
@given(st.dictionaries(keys, json_values | st.just("location")))
def test_owntracks_fuzz(payload):
    try:
        result = parse_owntracks(payload)
    except PayloadError:
        return
    if isinstance(result, Fix):
        assert math.isfinite(result.lat) and -90 <= result.lat <= 90


osmand_keys = st.sampled_from(["id", "lat", "lon", "timestamp", "speed", "bearing", "batt", "mock", "location"])


@fuzz(300)
@given(st.dictionaries(osmand_keys, st.text(max_size=15)))
def test_osmand_fuzz(params):
    try:
        fix = parse_osmand(params, now=NOW)
    except PayloadError:
        return
    assert -180 <= fix.lon <= 180 and fix.time.tzinfo is not None


@fuzz(200)
@given(json_values)
def test_traccar_json_fuzz(body):
    with contextlib.suppress(PayloadError):
        parse_traccar_json({"device_id": "d", "location": body})
