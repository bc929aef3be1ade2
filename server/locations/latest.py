"""Ingestion moves each rep's latest position (``rep_position``) forward over the good fixes,
keeping where the rep has stayed within the stop radius since when (read by
:mod:`server.locations.positions` for the live map)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Dialect

from crm.devices import Device
from crm.locations import RepPosition
from lbs.geo import haversine_m
from server.locations.bulk import Raw, db_time, db_times, marker, micros, upsert_row
from server.locations.incoming import IncomingFixes


@lru_cache(maxsize=8)
def _position_sql(dialect: Dialect) -> str:
    q = dialect.identifier_preparer.quote
    return (
        f"SELECT {q('time')}, anchor_lat, anchor_lon, still_since FROM {q(RepPosition.__tablename__)} "
        f"WHERE rep_user_id = {marker(dialect)}"
    )


def next_position(
    raw: Raw,
    *,
    device: Device,
    fixes: IncomingFixes,
    good: NDArray[np.intp],
    stop_radius_m: float,
    now: datetime,
) -> dict[str, Any] | None:
    """The rep's position row moved forward over the good fixes (positions in ``fixes``, by
    time), in the driver's form; None when none of them is newer than the stored one."""
    dialect = raw.dialect
    found = raw.rows(_position_sql(dialect), (device.rep_user_id,))
    current = found[0] if found else None
    t_us = fixes.fixes.t_us[good]
    if current is not None:
        stored_us, still_us = micros(dialect, [current[0], current[3]]).tolist()
        newer = good[t_us > stored_us]
    else:
        newer = good
    if newer.size == 0:
        return None
    times = fixes.fixes.t_us[newer].tolist()
    lats, lons = fixes.fixes.lat[newer].tolist(), fixes.fixes.lon[newer].tolist()
    if current is None:
        anchor_lat, anchor_lon, since = lats[0], lons[0], times[0]
    else:
        anchor_lat, anchor_lon, since = current[1], current[2], still_us
    for t, lat, lon in zip(times, lats, lons, strict=True):
        if haversine_m(anchor_lat, anchor_lon, lat, lon) > stop_radius_m:
            anchor_lat, anchor_lon, since = lat, lon, t
    last = int(newer[-1])
    time_text, since_text = db_times(dialect, np.array([times[-1], since], dtype=np.int64))
    return {
        "rep_user_id": device.rep_user_id, "division_id": device.division_id, "device_id": device.id,
        "time": time_text, "lat": lats[-1], "lon": lons[-1], "accuracy_m": fixes.accuracy_m[last],
        "speed_mps": fixes.speed_mps[last], "bearing_deg": fixes.bearing_deg[last],
        "battery_pct": fixes.battery_pct[last], "charging": fixes.charging[last], "source": fixes.source[last],
        "anchor_lat": anchor_lat, "anchor_lon": anchor_lon, "still_since": since_text,
        "updated_at": db_time(dialect, now),
    }


def save_position(raw: Raw, row: dict[str, Any]) -> None:
    """Store a row from :func:`next_position` unless a newer position got there first."""
    upsert_row(raw, RepPosition.__table__, row, conflict=("rep_user_id",), newer="time")
