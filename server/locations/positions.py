"""The latest position of each rep, and the live-map view of all of them.

Per rep the position row also keeps where the rep has stayed (within the stop radius)
since when; from that the map tells moving from stopped, and "visiting" means the rep
checked in at a customer recently and has not moved away since.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Row, Select, func, select, type_coerce
from sqlalchemy.types import NullType
from sqlmodel import Session

from crm.access import scope
from crm.locations import Checkin, RepPosition
from crm.org import User
from lbs.coords import CoordSystem, convert
from lbs.points import EPOCH, epoch_us
from server.config import Settings
from server.locations.bulk import micros


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
    position: Row[Any]  # the rep_position columns as plain values; ``time``/``still_since`` as the driver returns them
    name: str
    time_us: int  # the position's time, UTC epoch microseconds
    freshness: Freshness
    motion: Motion
    age_s: float
    still_s: float
    visiting_customer_id: int | None


def freshness(age_s: NDArray[np.float64], settings: Settings) -> list[Freshness]:
    """The freshness of each position age (seconds)."""
    levels = (Freshness.fresh, Freshness.stale, Freshness.offline)
    code = np.where(age_s <= settings.live_fresh_s, 0, np.where(age_s <= settings.live_offline_s, 1, 2))
    return [levels[k] for k in code.tolist()]


# Slack between the start of the current stay and a check-in made during it.
CHECKIN_SLACK = timedelta(minutes=2)


def latest_checkins(session: Session, reps: Select[Any] | Collection[int], since: datetime) -> list[Row[Any]]:
    """Each rep's latest check-in after ``since``: (rep_user_id, customer_id, occurred_at). ``reps`` are
    rep ids or a SELECT of them (a subquery, so that thousands of ids are not sent as a list)."""
    latest = (
        select(Checkin.rep_user_id, func.max(Checkin.occurred_at).label("at"))
        .where(Checkin.rep_user_id.in_(reps), Checkin.occurred_at >= since)
        .group_by(Checkin.rep_user_id)
        .subquery()
    )
    return session.execute(
        select(Checkin.rep_user_id, Checkin.customer_id, Checkin.occurred_at).join(
            latest, (Checkin.rep_user_id == latest.c.rep_user_id) & (Checkin.occurred_at == latest.c.at)
        )
    ).all()


def visiting_reps(session: Session, positions: Iterable[RepPosition | Row[Any]], since: datetime) -> dict[int, int]:
    """Rep → customer of a check-in after ``since`` made where the rep still is."""
    stays = {p.rep_user_id: p for p in positions}
    if not stays:
        return {}
    # Still there: the current stay began no later than the check-in (with a little slack).
    return {
        rep: customer
        for rep, customer, at in latest_checkins(session, list(stays), since)
        if stays[rep].still_since <= at + CHECKIN_SLACK
    }


def live_reps(session: Session, *, actor: User, settings: Settings, now: datetime) -> list[LiveRep]:
    """Every rep position the actor may see, with freshness and motion.

    Times are read undecoded and converted to epoch microseconds in one go (thousands of reps
    poll every few seconds); the reps' check-ins are selected through the same scope as a subquery.
    """
    raw = NullType()
    columns = [
        type_coerce(c, raw).label(c.name) if c.name in ("time", "still_since") else c
        for c in RepPosition.__table__.c
        if c.name not in ("anchor_lat", "anchor_lon", "updated_at")
    ]
    rows = session.connection().execute(
        scope(select(*columns, User.display_name).join(User, User.id == RepPosition.rep_user_id), actor, RepPosition)
        .order_by(RepPosition.rep_user_id)
    ).all()
    if not rows:
        return []
    dialect = session.get_bind().dialect
    times = micros(dialect, [r.time for r in rows]).tolist()
    since = micros(dialect, [r.still_since for r in rows]).tolist()
    slack_us = CHECKIN_SLACK // timedelta(microseconds=1)
    since_of = dict(zip((r.rep_user_id for r in rows), since, strict=True))
    visiting = {
        rep: customer
        for rep, customer, at in latest_checkins(
            session,
            scope(select(RepPosition.rep_user_id), actor, RepPosition),
            now - timedelta(seconds=settings.dispatch_visit_s),
        )
        if rep in since_of and since_of[rep] <= epoch_us(at) + slack_us
    }
    age = np.maximum(0.0, (epoch_us(now) - np.array(times)) / 1e6)
    still = (np.array(times) - np.array(since)) / 1e6
    stopped = (still >= settings.stop_min_duration_s).tolist()
    out = []
    for position, t_us, age_s, still_s, fresh, is_stopped in zip(
        rows, times, age.tolist(), still.tolist(), freshness(age, settings), stopped, strict=True
    ):
        customer = visiting.get(position.rep_user_id)
        motion = Motion.visiting if customer is not None else Motion.stopped if is_stopped else Motion.moving
        out.append(LiveRep(position, position.display_name, t_us, fresh, motion, age_s, still_s, customer))
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
                "id": p.rep_user_id, "name": r.name, "device_id": p.device_id,
                "time": (EPOCH + timedelta(microseconds=r.time_us)).isoformat(),
                "age_s": round(r.age_s), "freshness": r.freshness.value, "state": r.motion.value,
                "still_s": round(r.still_s), "visiting_customer_id": r.visiting_customer_id,
                "accuracy_m": p.accuracy_m, "speed_mps": p.speed_mps, "bearing_deg": p.bearing_deg,
                "battery_pct": p.battery_pct, "charging": p.charging, "source": p.source,
            },
        })
    return {"type": "FeatureCollection", "coords": coords.value, "features": features}
