"""A rep's day for review and replay: cleaned track, stops matched to customers, trips, gaps,
check-ins, anomalies, figures, and the day's plan against what happened.

Stored fixes are filtered again with the whole day as context (lbs.trajectory.analyze_day),
so a jump decided on the edge of an upload batch is judged with both sides known.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, select

from crm.access import get_visible, scope
from crm.customers import Customer
from crm.devices import Device
from crm.errors import NotFound
from crm.locations import Checkin, LocationDiscard, LocationFix
from crm.org import User
from lbs.plan_actual import PlanComparison, actual_visits, compare_plan
from lbs.points import Fix
from lbs.trajectory import DayTrack, analyze_day
from lbs.visits import CheckIn, DayReview, Site, review_day
from server.config import Settings
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


def _fixes(session: Session, actor: User, rep: User, start: datetime, end: datetime) -> list[Fix]:
    devices = select(Device.id).where(Device.division_id == rep.division_id).scalar_subquery()
    stmt = scope(
        select(LocationFix.time, LocationFix.lat, LocationFix.lon, LocationFix.accuracy_m, LocationFix.speed_mps,
               LocationFix.bearing_deg, LocationFix.altitude_m, LocationFix.battery_pct, LocationFix.mock,
               LocationFix.provider)
        .where(LocationFix.device_id.in_(devices), LocationFix.rep_user_id == rep.id,
               LocationFix.time >= start, LocationFix.time < end)
        .order_by(LocationFix.time),
        actor, LocationFix,
    )
    return [Fix(*row) for row in session.execute(stmt)]


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
    fixes = _fixes(session, actor, rep, start, end)
    track = analyze_day(fixes, min(now, end), trajectory_config(settings))
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
    return RepDay(rep, day, start, end, track, review, tuple(checkins), customers, int(discarded), plan, comparison)
