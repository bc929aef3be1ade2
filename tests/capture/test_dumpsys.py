from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capture import (
    BatteryHealth,
    BatteryStatus,
    DumpsysFormatError,
    FixSource,
    PayloadError,
    latest,
    parse_dumpsys_battery,
    parse_dumpsys_location,
    parse_duration,
    parse_uptime,
)
from tests.capture.conftest import fuzz, read

NOW = datetime(2024, 5, 1, 6, 30, tzinfo=UTC)


def test_android9_last_known_locations_without_coarse_ones():
    fixes = parse_dumpsys_location(read("dumpsys", "location_android9.txt"))
    assert [(f.listed_under, f.provider) for f in fixes] == [
        ("passive", "network"), ("network", "network"), ("gps", "gps"),
    ]
    gps = fixes[2]
    assert (gps.lat, gps.lon, gps.accuracy_m, gps.altitude_m, gps.speed_mps, gps.bearing_deg) == (
        31.229901, 121.474213, 5.0, 8.5, 1.2, 87.5,
    )
    assert gps.elapsed == timedelta(days=1, hours=1, minutes=59, seconds=30, milliseconds=250)
    assert gps.vertical_accuracy_m == 3.0 and not gps.mock
    assert fixes[0].vertical_accuracy_m is None  # vAcc=???


def test_decimal_commas_and_mock_flag():
    fixes = parse_dumpsys_location(read("dumpsys", "location_android8_decimal_comma_mock.txt"))
    assert [(f.lat, f.lon, f.mock) for f in fixes] == [
        (52.520008, 13.404954, True), (52.520008, 13.404954, True), (-33.86882, 151.209296, False),
    ]


def test_android13_provider_blocks():
    fixes = parse_dumpsys_location(read("dumpsys", "location_android13.txt"))
    assert [(f.listed_under, f.provider, f.accuracy_m) for f in fixes] == [
        ("passive", "fused", 12.625), ("network", "network", 18.3), ("fused", "fused", 12.625),
    ]
    assert fixes[0].elapsed == timedelta(hours=3, minutes=41, seconds=39, milliseconds=393)


def test_android14_user_sub_blocks_and_mock():
    fixes = parse_dumpsys_location(read("dumpsys", "location_android14_mock.txt"))
    gps = fixes[0]
    assert (gps.provider, gps.mock, gps.speed_mps, gps.bearing_deg) == ("gps", True, 8.94, 271.3)
    assert gps.elapsed == timedelta(days=12, minutes=4, seconds=17, milliseconds=805)
    assert len(fixes) == 2


def test_latest_and_conversion_to_a_fix_with_uptime():
    fixes = parse_dumpsys_location(read("dumpsys", "location_android9.txt"))
    best = latest(fixes)
    assert best.elapsed == timedelta(days=1, hours=2, minutes=3, seconds=4, milliseconds=5)
    uptime = timedelta(days=1, hours=2, minutes=13, seconds=4, milliseconds=5)
    fix = best.to_fix("dev-1", now=NOW, uptime=uptime)
    assert fix.time == NOW - timedelta(minutes=10)
    assert (fix.source, fix.provider, fix.accuracy_m) == (FixSource.DUMPSYS, "network", 20.0)
    with pytest.raises(PayloadError):
        best.to_fix("dev-1", now=NOW, uptime=timedelta(hours=1))  # et after uptime: rebooted since
    assert latest([]) is None


def test_refusals_and_other_output_are_format_errors():
    with pytest.raises(DumpsysFormatError, match="refused"):
        parse_dumpsys_location(read("dumpsys", "location_permission_denied.txt"))
    with pytest.raises(DumpsysFormatError):
        parse_dumpsys_location("Can't find service: location\n")
    with pytest.raises(DumpsysFormatError):
        parse_dumpsys_location(read("dumpsys", "battery_android13.txt"))


def test_unreadable_location_entries_are_left_out():
    text = "  gps provider:\n    last location=Location[gps 95.0,200.0 hAcc=5 et=+1s0ms]\n" \
           "  network provider:\n    last location=Location[network abc hAcc=5]\n" \
           "  fused provider:\n    last location=Location[fused 1.5,2.5 hAcc=NaN et=+1s]\n"
    assert parse_dumpsys_location(text) == []


@pytest.mark.parametrize(
    ("text", "value"),
    [("+1d2h3m4s5ms", timedelta(days=1, hours=2, minutes=3, seconds=4, milliseconds=5)),
     ("+3h41m39s393ms", timedelta(hours=3, minutes=41, seconds=39, milliseconds=393)),
     ("+5m0s1ms", timedelta(minutes=5, milliseconds=1)), ("+45ms", timedelta(milliseconds=45)), ("0", None),
     ("-2s0ms", timedelta(seconds=-2)), ("?!?", None), ("", None), ("+", None), ("1x", None)],
)
def test_android_durations(text, value):
    assert parse_duration(text) == value


def test_uptime():
    assert parse_uptime("93784.05 180000.11\n") == timedelta(seconds=93784.05)
    for bad in ("", "abc", "-5 1", "nan 1"):
        with pytest.raises(DumpsysFormatError):
            parse_uptime(bad)


def test_battery_android13_on_usb():
    state = parse_dumpsys_battery(read("dumpsys", "battery_android13.txt"))
    assert (state.level, state.scale, state.percent, state.status, state.health) == (
        85, 100, 85.0, BatteryStatus.CHARGING, BatteryHealth.GOOD,
    )
    assert state.plugged == {"usb"} and state.charging and state.temperature_c == 25.0
    assert (state.voltage_mv, state.technology, state.present) == (4231, "Li-ion", True)
    assert state.extra["Charge counter"] == "3843000"


def test_battery_cold_unplugged_with_updates_stopped():
    state = parse_dumpsys_battery(read("dumpsys", "battery_android9_unplugged_cold.txt"))
    assert state.temperature_c == -5.2 and state.health is BatteryHealth.COLD
    assert not state.plugged and not state.charging and state.updates_stopped


def test_battery_other_scale():
    state = parse_dumpsys_battery(read("dumpsys", "battery_full_ac.txt"))
    assert state.percent == 100.0 and state.status is BatteryStatus.FULL and state.plugged == {"ac"}


@pytest.mark.parametrize(
    "text",
    ["", "Current Battery Service state:\n  scale: 100\n", "Current Battery Service state:\n  level: 150\n",
     "Current Battery Service state:\n  level: x\n", "Current Battery Service state:\n  level: 5\n  scale: 0\n",
     "Permission Denial: can't dump Battery service from pid=1", "level: 50\n"],
)
def test_bad_battery_output(text):
    with pytest.raises(DumpsysFormatError):
        parse_dumpsys_battery(text)


@fuzz(200)
@given(st.text(max_size=300))
def test_location_fuzz(text):
    try:
        fixes = parse_dumpsys_location("  gps provider:\n    last location=Location[" + text)
    except DumpsysFormatError:
        return
    assert all(-90 <= f.lat <= 90 and -180 <= f.lon <= 180 for f in fixes)


@fuzz(200)
@given(st.text(max_size=300))
def test_battery_fuzz(text):
    try:
        state = parse_dumpsys_battery("Current Battery Service state:\n" + text)
    except DumpsysFormatError:
        return
    assert 0 <= state.percent <= 100
