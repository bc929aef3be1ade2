import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lbs.evaluate import StopScore, score_stops
from lbs.gpx import InvalidGpx, parse_gpx
from lbs.simulate import simulate_days
from lbs.trajectory import analyze_day

DATA = Path(__file__).resolve().parents[1] / "data" / "lbs"
LABELS = json.loads((DATA / "gpx_stops.json").read_text())


def test_parse_real_gpx_track():
    fixes = parse_gpx((DATA / "around-visnjan-with-car.gpx").read_bytes())
    assert len(fixes) == 104
    assert fixes[0].time == datetime(2020, 12, 18, 6, 15, 50, tzinfo=UTC)
    assert fixes[0].lat == pytest.approx(45.2735188510) and fixes[0].altitude_m == pytest.approx(211.15)
    walk = parse_gpx((DATA / "korita-zbevnica.gpx").read_text())
    assert len(walk) == 513  # the untimed points of this GPX 1.0 file are skipped


def test_bad_gpx_is_a_typed_error():
    with pytest.raises(InvalidGpx):
        parse_gpx("<gpx><trk>")
    with pytest.raises(InvalidGpx):
        parse_gpx("<kml/>")
    with pytest.raises(InvalidGpx):
        parse_gpx(
            '<gpx><trk><trkseg><trkpt lat="x" lon="1"><time>2020-01-01T00:00:00Z</time></trkpt></trkseg></trk></gpx>'
        )
    assert parse_gpx('<gpx><trk><trkseg><trkpt lat="1" lon="1"/></trkseg></trk></gpx>') == []


@pytest.mark.parametrize("track", LABELS["tracks"], ids=lambda t: t["file"])
def test_default_detector_finds_every_labelled_real_stop(track):
    fixes = parse_gpx((DATA / track["file"]).read_bytes())
    day = analyze_day(fixes, now=fixes[-1].time + timedelta(hours=1))
    truth = [(datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"])) for s in track["stops"]]
    score = score_stops([(s.start_time, s.end_time) for s in day.stops], truth)
    assert score.false_negatives == 0


def test_default_detector_on_simulated_days():
    total = StopScore(0, 0, 0)
    for day in simulate_days((31.2304, 121.4737), 8, 6, seed=42):
        fixes = day.to_fixes()
        found = analyze_day(fixes, now=fixes[-1].time + timedelta(hours=1)).stops
        total += score_stops(
            [(s.start_time, s.end_time) for s in found], [(s.start, s.end) for s in day.truth]
        )
    assert total.recall >= 0.95 and total.precision >= 0.9


def test_score_stops_matching_rules():
    t = datetime(2024, 1, 1, tzinfo=UTC)
    h = timedelta(hours=1)
    truth = [(t, t + h), (t + 2 * h, t + 3 * h)]
    detected = [(t + 0.6 * h, t + 1.1 * h), (t + 0.1 * h, t + 0.5 * h), (t + 5 * h, t + 6 * h)]
    score = score_stops(detected, truth)
    assert score == StopScore(1, 2, 1)
    assert score.precision == pytest.approx(1 / 3) and score.recall == pytest.approx(1 / 2)
    assert StopScore(0, 0, 0).precision == 1.0
