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


# The rep_position columns every live view reads; a view may ask for more.
LIVE_COLUMNS = ("rep_user_id", "lat", "lon", "battery_pct", "charging")


@dataclass(frozen=True, slots=True)
class LiveReps:
    """The rep positions an actor may see, column by column in rep id order (thousands of reps
    are polled every few seconds: no object per rep)."""

    columns: dict[str, list[Any]]  # rep_user_id and the requested rep_position columns, plain values
    names: list[str]
    time_us: list[int]  # each position's time, UTC epoch microseconds
    freshness: list[Freshness]
    motion: list[Motion]
    age_s: list[float]
    still_s: list[float]
    visiting_customer_id: list[int | None]

    def __len__(self) -> int:
        return len(self.names)


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


def _motion(stopped: list[bool], visiting: list[int | None]) -> list[Motion]:
    return [
        Motion.visiting if customer is not None else Motion.stopped if still else Motion.moving
        for still, customer in zip(stopped, visiting, strict=True)
    ]


def live_reps(
    session: Session, *, actor: User, settings: Settings, now: datetime, columns: Sequence[str] = LIVE_COLUMNS
) -> LiveReps:
    """Every rep position the actor may see (the rep_position ``columns`` and the rep's name),
    with freshness and motion.

    Times are read undecoded and converted to epoch microseconds in one go, freshness and motion
    are worked out on arrays, and the reps' check-ins are selected through the same scope as a
    subquery.
    """
    raw = NullType()
    table = RepPosition.__table__.c  # type: ignore[attr-defined]
    wanted = [table[name] for name in dict.fromkeys(("rep_user_id", *columns))]
    stmt = scope(
        select(
            *wanted,
            User.display_name,
            type_coerce(RepPosition.time, raw).label("time_raw"),
            type_coerce(RepPosition.still_since, raw).label("still_raw"),
        ).join(User, User.id == RepPosition.rep_user_id),
        actor,
        RepPosition,
    ).order_by(RepPosition.rep_user_id)
    rows = session.connection().execute(stmt).all()
    if not rows:
        return LiveReps({c.name: [] for c in wanted}, [], [], [], [], [], [], [])
    values = [list(column) for column in zip(*rows, strict=True)]
    read = {c.name: v for c, v in zip(wanted, values, strict=False)}
    names, times_raw, since_raw = values[len(wanted):]
    dialect = session.get_bind().dialect
    times, since = micros(dialect, times_raw), micros(dialect, since_raw)
    slack_us = CHECKIN_SLACK // timedelta(microseconds=1)
    position_of = {rep: k for k, rep in enumerate(read["rep_user_id"])}
    visiting: list[int | None] = [None] * len(names)
    for rep, customer, at in latest_checkins(
        session,
        scope(select(RepPosition.rep_user_id), actor, RepPosition),
        now - timedelta(seconds=settings.dispatch_visit_s),
    ):
        k = position_of.get(rep)
        if k is not None and int(since[k]) <= epoch_us(at) + slack_us:
            visiting[k] = customer
    age = np.maximum(0.0, (epoch_us(now) - times) / 1e6)
    still = (times - since) / 1e6
    return LiveReps(
        columns=read,
        names=names,
        time_us=times.tolist(),
        freshness=freshness(age, settings),
        motion=_motion((still >= settings.stop_min_duration_s).tolist(), visiting),
        age_s=age.tolist(),
        still_s=still.tolist(),
        visiting_customer_id=visiting,
    )


# The rep_position columns the GeoJSON view shows.
GEOJSON_COLUMNS = (
    *LIVE_COLUMNS, "device_id", "accuracy_m", "speed_mps", "bearing_deg", "source",
)


def as_geojson(reps: LiveReps, coords: CoordSystem) -> dict[str, Any]:
    """A FeatureCollection of points (``properties.id`` is the rep id, stable for polling maps);
    ``reps`` read with :data:`GEOJSON_COLUMNS`."""
    c = reps.columns
    features = []
    for k, rep in enumerate(c["rep_user_id"]):
        lat, lon = c["lat"][k], c["lon"][k]
        if coords is not CoordSystem.WGS84:
            lat, lon = convert(lat, lon, CoordSystem.WGS84, coords)
        features.append({
            "type": "Feature",
            "id": rep,
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {
                "id": rep, "name": reps.names[k], "device_id": c["device_id"][k],
                "time": (EPOCH + timedelta(microseconds=reps.time_us[k])).isoformat(),
                "age_s": round(reps.age_s[k]), "freshness": reps.freshness[k].value, "state": reps.motion[k].value,
                "still_s": round(reps.still_s[k]), "visiting_customer_id": reps.visiting_customer_id[k],
                "accuracy_m": c["accuracy_m"][k], "speed_mps": c["speed_mps"][k], "bearing_deg": c["bearing_deg"][k],
                "battery_pct": c["battery_pct"][k], "charging": c["charging"][k], "source": c["source"][k],
            },
        })
    return {"type": "FeatureCollection", "coords": coords.value, "features": features}
