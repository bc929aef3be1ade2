"""Planned route vs what happened: which visits took place, in which order, on time or not."""

from __future__ import annotations

import bisect
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from lbs.errors import require_number
from lbs.points import require_aware
from lbs.routing.model import PlannedVisit, TimeWindow
from lbs.visits import CheckIn, Visit


class Outcome(StrEnum):
    ON_TIME = "on_time"
    EARLY = "early"
    LATE = "late"
    MISSED = "missed"


@dataclass(frozen=True, slots=True)
class ActualVisit:
    customer_id: Hashable
    arrival: datetime
    departure: datetime | None = None
    source: str = "stop"  # "stop" (from the track) or "checkin"

    def __post_init__(self) -> None:
        object.__setattr__(self, "arrival", require_aware(self.arrival, "arrival"))


@dataclass(frozen=True, slots=True)
class PlanItem:
    customer_id: Hashable
    planned_seq: int
    planned_arrival: datetime
    outcome: Outcome
    actual_seq: int | None = None
    actual_arrival: datetime | None = None
    delay_s: float | None = None  # actual − planned arrival


@dataclass(frozen=True, slots=True)
class PlanComparison:
    items: tuple[PlanItem, ...]
    unplanned: tuple[ActualVisit, ...]
    order_score: float  # share of done planned visits that follow the planned order (1.0 = same order)

    @property
    def done(self) -> int:
        return sum(1 for i in self.items if i.outcome is not Outcome.MISSED)

    @property
    def missed(self) -> int:
        return len(self.items) - self.done


def actual_visits(visits: Sequence[Visit], checkins: Sequence[CheckIn]) -> list[ActualVisit]:
    """Actual visits from matched stops, plus check-ins at customers no stop shows, by time."""
    out = [ActualVisit(v.customer_id, v.arrival, v.departure, "stop") for v in visits]
    seen = {v.customer_id for v in visits}
    out += [
        ActualVisit(c.customer_id, c.time, None, "checkin") for c in checkins if c.customer_id not in seen
    ]
    return sorted(out, key=lambda a: a.arrival)


def _longest_increasing(seq: Sequence[int]) -> int:
    tails: list[int] = []
    for x in seq:
        i = bisect.bisect_left(tails, x)
        tails[i : i + 1] = [x]
    return len(tails)


def _outcome(
    planned: datetime, actual: datetime, windows: Sequence[TimeWindow], tolerance: timedelta
) -> Outcome:
    if windows:
        if any(w.start - tolerance <= actual <= w.end for w in windows):
            return Outcome.ON_TIME
        return Outcome.EARLY if actual < windows[0].start - tolerance else Outcome.LATE
    if actual < planned - tolerance:
        return Outcome.EARLY
    return Outcome.LATE if actual > planned + tolerance else Outcome.ON_TIME


def compare_plan(
    planned: Sequence[PlannedVisit],
    actual: Sequence[ActualVisit],
    windows: Mapping[Hashable, Sequence[TimeWindow]] | None = None,
    tolerance_s: float = 1800.0,
) -> PlanComparison:
    """Match each planned visit with the first actual visit to the same customer.

    On time means arriving inside one of the customer's windows (``windows``; up to
    ``tolerance_s`` early is fine) or, without windows, within ``tolerance_s`` of the
    planned arrival. Later visits to an already matched customer are ignored; visits
    to customers not in the plan are returned as ``unplanned``.
    """
    require_number(tolerance_s, "tolerance_s")
    tolerance = timedelta(seconds=tolerance_s)
    ordered = sorted(actual, key=lambda a: a.arrival)
    first: dict[Hashable, tuple[int, ActualVisit]] = {}
    for seq, a in enumerate(ordered):
        first.setdefault(a.customer_id, (seq, a))
    planned_ids = {p.customer_id for p in planned}
    items = []
    for seq, p in enumerate(planned):
        match = first.get(p.customer_id)
        if match is None:
            items.append(PlanItem(p.customer_id, seq, p.arrival, Outcome.MISSED))
            continue
        aseq, a = match
        outcome = _outcome(p.arrival, a.arrival, (windows or {}).get(p.customer_id, ()), tolerance)
        delay = (a.arrival - p.arrival).total_seconds()
        items.append(PlanItem(p.customer_id, seq, p.arrival, outcome, aseq, a.arrival, delay))
    done_order = [i.actual_seq for i in items if i.actual_seq is not None]
    score = _longest_increasing(done_order) / len(done_order) if done_order else 1.0
    unplanned = tuple(a for a in ordered if a.customer_id not in planned_ids)
    return PlanComparison(tuple(items), unplanned, score)
