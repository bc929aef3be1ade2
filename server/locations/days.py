"""A rep's day for review and replay: cleaned track, stops matched to customers, trips, gaps,
check-ins, anomalies, figures, and the day's plan against what happened.

Stored fixes are filtered again with the whole day as context (lbs.trajectory.analyze_day),
so a jump decided on the edge of an upload batch is judged with both sides known.

Analysing a day of fixes every few seconds is the costly part of a replay, so the analysed
track is kept per (rep, day) and reused while the day holds the same stored fixes and the
filter gives them the same verdicts (a late fix, or time moving on past a fix from the
future, makes it analyse again). Stored fixes are only ever inserted or deleted, never
changed, so which fixes a day holds is told by their ids and arrival, read as one aggregate row; only
a day that changed is read in full and analysed.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Select, func, type_coerce
from sqlalchemy.types import NullType
from sqlmodel import Session, select

from crm.access import get_visible, scope
from crm.customers import Customer
from crm.devices import Device
from crm.errors import NotFound
from crm.locations import Checkin, LocationDiscard, LocationFix
from crm.org import User
from lbs.filtering import FilterConfig, FixStatus
from lbs.plan_actual import PlanComparison, actual_visits, compare_plan
from lbs.points import EPOCH, Fix, epoch_us
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


def _day_fixes(stmt: Select[Any], actor: User, rep: User, start: datetime, end: datetime) -> Select[Any]:
    """``stmt`` restricted to the rep's stored fixes of the period, through the scope."""
    devices = select(Device.id).where(Device.division_id == rep.division_id).scalar_subquery()
    return scope(
        stmt.where(LocationFix.device_id.in_(devices), LocationFix.rep_user_id == rep.id,
                   LocationFix.time >= start, LocationFix.time < end),
        actor, LocationFix,
    )


def _fix_ids(session: Session, actor: User, rep: User, start: datetime, end: datetime) -> tuple[Any, ...]:
    """Which fixes the period holds: the count, smallest, largest and sum of their ids and when the
    latest of them arrived. Ids only grow — SQLite may hand the table's largest id out again once
    the fix holding it is deleted, but a fix stored since then arrived later — so another set of
    fixes gives another row."""
    ids = LocationFix.id
    stmt = select(func.count(), func.min(ids), func.max(ids), func.sum(ids), func.max(LocationFix.received_at))
    return tuple(session.connection().execute(_day_fixes(stmt, actor, rep, start, end)).one())


def _fix_rows(session: Session, actor: User, rep: User, start: datetime, end: datetime) -> list[tuple[Any, ...]]:
    """The rep's stored fixes of the period in time order as plain tuples, ``time`` as the driver returns it."""
    columns = [type_coerce(LocationFix.time, NullType()).label("time"),
               *(getattr(LocationFix, name) for name in _FIX_COLUMNS[1:])]
    stmt = _day_fixes(select(*columns), actor, rep, start, end).order_by(LocationFix.time)
    return [tuple(row) for row in session.connection().execute(stmt).all()]


def _fixes(rows: list[tuple[Any, ...]], t_us: np.ndarray) -> list[Fix]:
    return [Fix(EPOCH + timedelta(microseconds=t), *row[1:]) for t, row in zip(t_us.tolist(), rows, strict=True)]


@dataclass(frozen=True, slots=True, eq=False)
class _Analysed:
    fix_ids: tuple[Any, ...]  # from _fix_ids, read before the fixes were
    first_us: int  # the earliest and latest fix, UTC epoch microseconds
    last_us: int
    config: TrajectoryConfig
    track: DayTrack
    fixes_by_status: dict[str, int]


def _judged_by_time(first_us: int, last_us: int, config: FilterConfig, now: datetime) -> bool:
    """Whether the filter marks a fix between ``first_us`` and ``last_us`` from the future or too
    old at ``now`` (the only verdicts that depend on the time; the same test as the filter's)."""
    ahead_s = (np.array([first_us, last_us], dtype=np.int64) - epoch_us(now)) / 1e6
    return bool(ahead_s[1] > config.future_tolerance_s or -ahead_s[0] > config.max_age_s)


class DayTracks:
    """Analysed days of the most recently replayed (rep, day)s, for as long as they stay valid.

    A cached analysis is used only when the day holds the same stored fixes (:func:`_fix_ids`)
    as it was made from and no fix is judged from the future or too old now; it is kept only
    when no verdict depended on the time of the request. Every other verdict depends on the
    fixes alone, so the result is the one ``analyze_day`` would give.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._days: OrderedDict[tuple[int, date], _Analysed] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[int, date], fix_ids: tuple[Any, ...], now: datetime,
            config: TrajectoryConfig) -> tuple[DayTrack, dict[str, int]] | None:
        """The kept analysis of ``key`` if it is still right for these fixes at ``now``."""
        with self._lock:
            found = self._days.get(key)
            if found is None or found.fix_ids != fix_ids or found.config != config:
                return None
            if _judged_by_time(found.first_us, found.last_us, config.filter, now):
                return None
            self._days.move_to_end(key)
            return found.track, found.fixes_by_status

    def analyse(self, key: tuple[int, date], fix_ids: tuple[Any, ...], rows: list[tuple[Any, ...]],
                t_us: np.ndarray, now: datetime, config: TrajectoryConfig) -> tuple[DayTrack, dict[str, int]]:
        """Analyse the day's fixes (``rows``, read after ``fix_ids``) and keep the result when no
        verdict depends on ``now``."""
        track = analyze_day(_fixes(rows, t_us), now, config)
        counts = dict(Counter(c.status.value for c in track.checked))
        if rows and FixStatus.FUTURE.value not in counts and FixStatus.ANCIENT.value not in counts:
            kept = _Analysed(fix_ids, int(t_us.min()), int(t_us.max()), config, track, counts)
            with self._lock:
                self._days[key] = kept
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
    key, at, config = (rep.id, day), min(now, end), trajectory_config(settings)
    fix_ids = _fix_ids(session, actor, rep, start, end)
    found = DAY_TRACKS.get(key, fix_ids, at, config)  # type: ignore[arg-type]
    if found is None:
        rows = _fix_rows(session, actor, rep, start, end)
        t_us = micros(session.get_bind().dialect, [r[0] for r in rows])
        found = DAY_TRACKS.analyse(key, fix_ids, rows, t_us, at, config)  # type: ignore[arg-type]
    track, fixes_by_status = found
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
