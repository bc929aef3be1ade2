"""Precision/recall of the stop detector on simulated days and hand-labelled real GPX tracks.

    python scripts/eval_stops.py            # 60 simulated days + the labelled GPX tracks
    python scripts/eval_stops.py --days 10  # quicker

A detected stop counts as found when it overlaps a true stop by at least half of the
shorter of the two (one-to-one matching). Simulated days (lbs.simulate) drive between
customer sites with GPS noise, outliers, low-accuracy fixes, duplicates, (0, 0) fixes,
traffic-light halts of 30–150 s and tracking gaps; real tracks and their labels are in
tests/data/lbs/ (see gpx_stops.json).
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timedelta
from pathlib import Path

from lbs.evaluate import StopScore, score_stops
from lbs.filtering import FilterConfig
from lbs.gpx import parse_gpx
from lbs.points import Fix
from lbs.simulate import simulate_days
from lbs.stops import StopConfig
from lbs.trajectory import TrajectoryConfig, analyze_day

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "lbs"
CONFIGS = {
    "default 120 m / 5 min": StopConfig(),
    "trackintel 100 m / 5 min": StopConfig(radius_m=100, min_duration_s=300),
    "150 m / 5 min": StopConfig(radius_m=150, min_duration_s=300),
    "Traccar 200 m / 3 min": StopConfig(radius_m=200, min_duration_s=180),
    "GeoLife 200 m / 20 min": StopConfig(radius_m=200, min_duration_s=1200),
}
NO_FILTER = FilterConfig(max_accuracy_m=1e9, max_speed_mps=1e9, reject_mock=False, max_age_s=1e12)


def detect(fixes: list[Fix], stops: StopConfig, filtering: FilterConfig) -> list[tuple[datetime, datetime]]:
    now = max(f.time for f in fixes) + timedelta(hours=1)
    day = analyze_day(fixes, now, TrajectoryConfig(filter=filtering, stops=stops))
    return [(s.start_time, s.end_time) for s in day.stops]


def usable(fixes: list[Fix], filtering: FilterConfig) -> list[Fix]:
    """Without filtering, still drop (0, 0): it is not a position at all."""
    return fixes if filtering is not NO_FILTER else [f for f in fixes if (f.lat, f.lon) != (0.0, 0.0)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=60)
    args = parser.parse_args()
    days = simulate_days((31.2304, 121.4737), args.days, 6, seed=42)
    sim = [(d.to_fixes(), [(s.start, s.end) for s in d.truth]) for d in days]
    labels = json.loads((DATA / "gpx_stops.json").read_text())
    real = [
        (
            parse_gpx((DATA / t["file"]).read_bytes()),
            [(datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"])) for s in t["stops"]],
        )
        for t in labels["tracks"]
    ]
    truth_sim = sum(len(t) for _, t in sim)
    truth_real = sum(len(t) for _, t in real)
    print(
        f"simulated: {args.days} days, {truth_sim} true stops; real GPX: {len(real)} tracks, {truth_real} stops\n"
    )
    header = (
        f"{'detector':<28} {'filter':<7} {'sim P':>6} {'sim R':>6} {'sim F1':>6}   {'GPX P':>6} {'GPX R':>6}"
    )
    print(header)
    print("-" * len(header))
    for name, cfg in CONFIGS.items():
        for label, filtering in (("on", FilterConfig()), ("off", NO_FILTER)):
            if label == "off" and name != "default 120 m / 5 min":
                continue
            s = sum(
                (score_stops(detect(usable(f, filtering), cfg, filtering), t) for f, t in sim),
                StopScore(0, 0, 0),
            )
            r = sum((score_stops(detect(f, cfg, filtering), t) for f, t in real), StopScore(0, 0, 0))
            f1 = 2 * s.precision * s.recall / (s.precision + s.recall) if s.precision + s.recall else 0.0
            print(
                f"{name:<28} {label:<7} {s.precision:6.3f} {s.recall:6.3f} {f1:6.3f}   {r.precision:6.3f} {r.recall:6.3f}"
            )


if __name__ == "__main__":
    main()
