"""A rep's day for review and replay: cleaned track, stops matched to customers, trips, gaps,
check-ins, anomalies, figures, and the day's plan against what happened.

Stored fixes are filtered again with the whole day as context (lbs.trajectory.analyze_day),
so a jump decided on the edge of an upload batch is judged with both sides known.

Analysing a day of fixes every few seconds is the costly part of a replay, so the analysed
track is kept per (rep, day) and reused while the day's stored fixes are the same and the
filter gives them the same verdicts (a late fix, or time moving on past a fix from the
future, makes it analyse again). The fixes are read as plain columns and judged on arrays
to tell.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import func, type_coerce
from sqlalchemy.types import NullType
from sqlmodel import Session, select

from crm.access import get_visible, scope
from crm.customers import Customer
from crm.devices import Device
from crm.errors import NotFound
from crm.locations import Checkin, LocationDiscard, LocationFix
from crm.org import User
from lbs.filtering import FixColumns, FixStatus, judge
from lbs.plan_actual import PlanComparison, actual_visits, compare_plan
from lbs.points import EPOCH, Fix
from lbs.trajectory import DayTrack, TrajectoryConfig, analyze_day
from lbs.visits import CheckIn, DayReview, Site, review_day
from server.config import Settings
from server.locations.bulk import micros
from server.locations.config import review_config, trajectory_config
from server.locations.nearby import customers_within
from server.locations.plans import ActivePlan, active_plan


@dataclass(frozen=True, slots=True)
class RepDay:
    rep: User
    day: date
    start: datetime
    end: datetime
    track: DayTrack
    fixes_by_status: dict[str, int]
    review: DayReview
    checkins: tuple[Checkin, ...]
    customers: dict[int, Customer]
    discarded: int
    plan: ActivePlan | None
    comparison: PlanComparison | None


def day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    start = datetime.combine(day, time(0), zone)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


# Columns of a stored fix in the order of ``Fix``'s fields.
_FIX_COLUMNS = ("time", "lat", "lon", "accuracy_m", "speed_mps", "bearing_deg", "altitude_m", "battery_pct", "mock",
                "provider")


def _fix_rows(session: Session, actor: User, rep: User, start: datetime, end: datetime) -> list[tuple[Any, ...]]:
    """The rep's stored fixes of the period in time order as plain tuples, ``time`` as the driver returns it."""
    devices = select(Device.id).where(Device.division_id == rep.division_id).scalar_subquery()
    columns = [type_coerce(LocationFix.time, NullType()).label("time"),
               *(getattr(LocationFix, name) for name in _FIX_COLUMNS[1:])]
    stmt = scope(
        select(*columns)
        .where(LocationFix.device_id.in_(devices), LocationFix.rep_user_id == rep.id,
               LocationFix.time >= start, LocationFix.time < end)
        .order_by(LocationFix.time),
        actor, LocationFix,
    )
    return [tuple(row) for row in session.connection().execute(stmt).all()]


def _optional(values: list[Any]) -> np.ndarray:
    """A column of optional measures as ``FixColumns`` has them: NaN when missing, -inf when not finite."""
    column = np.array(values, dtype=np.float64)
    missing = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
    return np.where(missing | np.isfinite(column), column, -np.inf)


def _columns(rows: list[tuple[Any, ...]], t_us: np.ndarray) -> FixColumns:
    """The rows as the filter's columns (what ``FixColumns.from_fixes`` makes of their ``Fix``)."""

    def column(name: str) -> list[Any]:
        k = _FIX_COLUMNS.index(name)
        return [r[k] for r in rows]

    return FixColumns(
        t_us, np.array(column("lat"), dtype=np.float64), np.array(column("lon"), dtype=np.float64),
        _optional(column("accuracy_m")), _optional(column("speed_mps")), np.array(column("mock"), dtype=bool),
        column("provider"),
    )


def _fixes(rows: list[tuple[Any, ...]], t_us: np.ndarray) -> list[Fix]:
    return [Fix(EPOCH + timedelta(microseconds=t), *row[1:]) for t, row in zip(t_us.tolist(), rows, strict=True)]


@dataclass(frozen=True, slots=True, eq=False)
class _Analysed:
    rows: list[tuple[Any, ...]]
    status: bytes  # the filter's verdict per fix, as judged when the day was analysed
    config: TrajectoryConfig
    track: DayTrack
    fixes_by_status: dict[str, int]


class DayTracks:
    """Analysed days of the most recently replayed (rep, day)s, for as long as they stay valid.

    A cached analysis is used only when the day's stored fixes are equal, row for row, to the
    ones it was made from and the filter judges them the same now; it is kept only when no
    verdict depends on the time of the request (no fix from the future or too old), so the
    result is the one ``analyze_day`` would give.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._days: OrderedDict[tuple[int, date], _Analysed] = OrderedDict()
        self._lock = threading.Lock()

    def analyse(self, key: tuple[int, date], rows: list[tuple[Any, ...]], t_us: np.ndarray, now: datetime,
                config: TrajectoryConfig) -> tuple[DayTrack, dict[str, int]]:
        status = judge(_columns(rows, t_us), config.filter, now).status.tobytes()
        with self._lock:
            found = self._days.get(key)
            if found is not None and found.status == status and found.config == config and found.rows == rows:
                self._days.move_to_end(key)
                return found.track, found.fixes_by_status
        track = analyze_day(_fixes(rows, t_us), now, config)
        counts = dict(Counter(c.status.value for c in track.checked))
        if FixStatus.FUTURE.value not in counts and FixStatus.ANCIENT.value not in counts:
            with self._lock:
                self._days[key] = _Analysed(rows, status, config, track, counts)
                self._days.move_to_end(key)
                while len(self._days) > self._size:
                    self._days.popitem(last=False)
        return track, counts

    def clear(self) -> None:
        with self._lock:
            self._days.clear()


# A day of fixes every 5 s analysed is a few MB; a few dozen days are kept per process.
DAY_TRACKS = DayTracks(size=32)


def _sites(session: Session, actor: User, track: DayTrack, ids: set[int], radius_m: float) -> dict[int, Customer]:
    """Customers near any stop, plus ``ids`` (checked-in and planned customers)."""
    for stop in track.stops:
        ids.update(n.id for n in customers_within(session, actor=actor, lat=stop.lat, lon=stop.lon,
                                                   radius_m=radius_m + stop.radius_m))
    if not ids:
        return {}
    rows = session.exec(scope(select(Customer).where(Customer.id.in_(ids)), actor, Customer))
    return {c.id: c for c in rows if c.id is not None}  # type: ignore[misc]


def rep_day(session: Session, *, actor: User, rep_id: int, day: date, settings: Settings, now: datetime) -> RepDay:
    rep = get_visible(session, actor, User, rep_id)
    if rep is None:
        raise NotFound("no such rep", field="rep_id")
    start, end = day_bounds(day, settings.time_zone)
    rows = _fix_rows(session, actor, rep, start, end)
    t_us = micros(session.get_bind().dialect, [r[0] for r in rows])
    track, fixes_by_status = DAY_TRACKS.analyse(
        (rep.id, day), rows, t_us, min(now, end), trajectory_config(settings)  # type: ignore[arg-type]
    )
    checkins = list(session.exec(scope(
        select(Checkin).where(Checkin.rep_user_id == rep.id, Checkin.occurred_at >= start, Checkin.occurred_at < end)
        .order_by(Checkin.occurred_at), actor, Checkin,
    )))
    review_cfg = review_config(settings)
    plan = active_plan(session, actor=actor, rep_id=rep.id, day=day)  # type: ignore[arg-type]
    known = {c.customer_id for c in checkins} | {s.customer_id for s in (plan.stops if plan else ())}
    customers = _sites(session, actor, track, known, review_cfg.visit_radius_m)
    sites = [Site(c.id, c.lat, c.lon, c.checkin_radius_m) for c in customers.values()  # type: ignore[arg-type]
             if c.lat is not None and c.lon is not None]
    visits_in = [CheckIn(c.id, c.customer_id, c.occurred_at, c.lat, c.lon, c.accuracy_m, c.mock) for c in checkins]
    review = review_day(track, sites, visits_in, review_cfg)
    discarded = session.execute(
        scope(select(func.coalesce(func.sum(LocationDiscard.count), 0)).where(
            LocationDiscard.rep_user_id == rep.id, LocationDiscard.day == day), actor, LocationDiscard)
    ).scalar_one()
    comparison = None
    if plan is not None:
        comparison = compare_plan(plan.visits, actual_visits(review.visits, visits_in), plan.windows)
    return RepDay(rep, day, start, end, track, fixes_by_status, review, tuple(checkins), customers, int(discarded), plan, comparison)
