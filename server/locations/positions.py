"""The latest position of each rep, and the live-map view of all of them.

Per rep the position row also keeps where the rep has stayed (within the stop radius)
since when; from that the map tells moving from stopped, and "visiting" means the rep
checked in at a customer recently and has not moved away since.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, func, select
from sqlmodel import Session

from crm.access import scope
from crm.locations import Checkin, RepPosition
from crm.org import User
from lbs.coords import CoordSystem, convert
from server.config import Settings


class Freshness(StrEnum):
    fresh = "fresh"
    stale = "stale"
    offline = "offline"


class Motion(StrEnum):
    moving = "moving"
    stopped = "stopped"
    visiting = "visiting"


@dataclass(frozen=True, slots=True)
class LiveRep:
    position: Row[Any]  # the rep_position columns, read as plain values (no ORM object per rep)
    name: str
    freshness: Freshness
    motion: Motion
    age_s: float
    still_s: float
    visiting_customer_id: int | None


def freshness(age_s: float, settings: Settings) -> Freshness:
    if age_s <= settings.live_fresh_s:
        return Freshness.fresh
    return Freshness.stale if age_s <= settings.live_offline_s else Freshness.offline


def visiting_reps(session: Session, positions: Iterable[RepPosition | Row[Any]], since: datetime) -> dict[int, int]:
    """Rep → customer of a check-in after ``since`` made where the rep still is."""
    stays = {p.rep_user_id: p for p in positions}
    if not stays:
        return {}
    latest = (
        select(Checkin.rep_user_id, func.max(Checkin.occurred_at).label("at"))
        .where(Checkin.rep_user_id.in_(stays), Checkin.occurred_at >= since)
        .group_by(Checkin.rep_user_id)
        .subquery()
    )
    rows = session.execute(
        select(Checkin.rep_user_id, Checkin.customer_id, Checkin.occurred_at).join(
            latest, (Checkin.rep_user_id == latest.c.rep_user_id) & (Checkin.occurred_at == latest.c.at)
        )
    ).all()
    # Still there: the current stay began no later than the check-in (with a little slack).
    return {
        rep: customer
        for rep, customer, at in rows
        if stays[rep].still_since <= at + timedelta(minutes=2)
    }


def live_reps(session: Session, *, actor: User, settings: Settings, now: datetime) -> list[LiveRep]:
    """Every rep position the actor may see, with freshness and motion."""
    rows = session.execute(
        scope(select(*(c for c in RepPosition.__table__.c if c.name not in ("anchor_lat", "anchor_lon", "updated_at")),
                     User.display_name).join(User, User.id == RepPosition.rep_user_id),
              actor, RepPosition).order_by(RepPosition.rep_user_id)
    ).all()
    visiting = visiting_reps(session, rows, now - timedelta(seconds=settings.dispatch_visit_s))
    out = []
    for position in rows:
        name = position.display_name
        age = max(0.0, (now - position.time).total_seconds())
        still = (position.time - position.still_since).total_seconds()
        customer = visiting.get(position.rep_user_id)
        if customer is not None:
            motion = Motion.visiting
        else:
            motion = Motion.stopped if still >= settings.stop_min_duration_s else Motion.moving
        out.append(LiveRep(position, name, freshness(age, settings), motion, age, still, customer))
    return out


def as_geojson(reps: Sequence[LiveRep], coords: CoordSystem) -> dict[str, Any]:
    """A FeatureCollection of points (``properties.id`` is the rep id, stable for polling maps)."""
    features = []
    for r in reps:
        p = r.position
        lat, lon = (p.lat, p.lon) if coords is CoordSystem.WGS84 else convert(p.lat, p.lon, CoordSystem.WGS84, coords)
        features.append({
            "type": "Feature",
            "id": p.rep_user_id,
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {
                "id": p.rep_user_id, "name": r.name, "device_id": p.device_id, "time": p.time.isoformat(),
                "age_s": round(r.age_s), "freshness": r.freshness.value, "state": r.motion.value,
                "still_s": round(r.still_s), "visiting_customer_id": r.visiting_customer_id,
                "accuracy_m": p.accuracy_m, "speed_mps": p.speed_mps, "bearing_deg": p.bearing_deg,
                "battery_pct": p.battery_pct, "charging": p.charging, "source": p.source,
            },
        })
    return {"type": "FeatureCollection", "coords": coords.value, "features": features}
