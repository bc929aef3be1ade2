"""JSON views of location data for the API and the dashboard; coordinates leave in the
requested system (WGS-84 by default, GCJ-02 for Gaode/Tencent tiles, BD-09 for Baidu)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from lbs.coords import CoordSystem, convert, convert_many
from server.locations.days import RepDay
from server.locations.nearby import NearCustomer


def point(lat: float, lon: float, coords: CoordSystem) -> tuple[float, float]:
    """(lat, lon) from WGS-84 into ``coords``."""
    return convert(lat, lon, CoordSystem.WGS84, coords)


class NearCustomerRead(BaseModel):
    id: int
    name: str
    lat: float
    lon: float
    distance_m: float
    owner_id: int | None
    checkin_radius_m: float | None


def near_view(found: list[NearCustomer], coords: CoordSystem) -> list[NearCustomerRead]:
    out = []
    for c in found:
        lat, lon = point(c.lat, c.lon, coords)
        out.append(NearCustomerRead(id=c.id, name=c.name, lat=lat, lon=lon, distance_m=round(c.distance_m, 1),
                                    owner_id=c.owner_id, checkin_radius_m=c.checkin_radius_m))
    return out


class DayFigures(BaseModel):
    fixes: int = Field(description="Stored fixes of the day.")
    fixes_by_status: dict[str, int]
    excluded_outside_hours: int
    distance_m: float
    moving_s: float
    stopped_s: float
    gap_s: float
    first_fix: datetime | None
    last_fix: datetime | None


class RepDayRead(BaseModel):
    rep: dict[str, Any]
    day: str
    coords: str
    figures: DayFigures
    track: dict[str, Any] = Field(description="Simplified GeoJSON LineString; properties.times per vertex.")
    stops: list[dict[str, Any]]
    trips: list[dict[str, Any]]
    gaps: list[dict[str, Any]]
    checkins: list[dict[str, Any]]
    anomalies: list[dict[str, Any]]
    plan: dict[str, Any] | None


def _customer(day: RepDay, customer_id: Any) -> dict[str, Any] | None:
    c = day.customers.get(customer_id)
    return None if c is None else {"id": c.id, "name": c.name}


def _plan(day: RepDay, coords: CoordSystem) -> dict[str, Any] | None:
    if day.plan is None or day.comparison is None:
        return None
    p = day.plan.plan
    items = []
    for stop, item in zip(day.plan.stops, day.comparison.items, strict=True):
        customer = day.customers.get(stop.customer_id)
        lat, lon = (None, None)
        if customer is not None and customer.lat is not None and customer.lon is not None:
            lat, lon = point(customer.lat, customer.lon, coords)
        items.append({
            "seq": stop.seq, "customer_id": stop.customer_id, "name": customer.name if customer else None,
            "lat": lat, "lon": lon, "arrival": stop.arrival, "start": stop.start, "departure": stop.departure,
            "outcome": item.outcome.value, "actual_seq": item.actual_seq, "actual_arrival": item.actual_arrival,
            "delay_s": item.delay_s,
        })
    return {
        "id": p.id, "solver": p.solver, "depart": p.depart, "arrive_end": p.arrive_end, "travel_s": p.travel_s,
        "distance_m": p.distance_m, "visits": items, "unassigned": p.unassigned,
        "done": day.comparison.done, "missed": day.comparison.missed, "order_score": day.comparison.order_score,
        "unplanned": [{"customer_id": a.customer_id, "arrival": a.arrival, "source": a.source}
                      for a in day.comparison.unplanned],
    }


def rep_day_view(day: RepDay, coords: CoordSystem) -> RepDayRead:
    track, t = day.track, day.track.track
    line = np.asarray(track.simplified, dtype=np.intp)
    # Track points are in range already (checked when the track was built): WGS-84 needs no conversion.
    vertices = list(zip(t.lat[line].tolist(), t.lon[line].tolist(), strict=True))
    if coords is not CoordSystem.WGS84:
        vertices = convert_many(vertices, CoordSystem.WGS84, coords)
    visit_of = {v.stop_index: v for v in day.review.visits}
    stops = []
    for k, s in enumerate(track.stops):
        lat, lon = point(s.lat, s.lon, coords)
        visit = visit_of.get(k)
        stops.append({
            "index": k, "start": s.start_time, "end": s.end_time, "duration_s": s.duration_s, "lat": lat, "lon": lon,
            "radius_m": round(s.radius_m, 1), "customer": _customer(day, visit.customer_id) if visit else None,
            "customer_distance_m": round(visit.distance_m, 1) if visit else None,
        })
    stop_of = {c.checkin.id: c.stop_index for c in day.review.checkins}
    checkins = []
    for c in day.checkins:
        lat, lon = point(c.lat, c.lon, coords)
        checkins.append({
            "id": c.id, "customer": _customer(day, c.customer_id) or {"id": c.customer_id, "name": None},
            "time": c.occurred_at, "lat": lat, "lon": lon, "accuracy_m": c.accuracy_m, "mock": c.mock,
            "status": c.status, "distance_m": c.distance_m, "radius_m": c.radius_m, "note": c.note,
            "photo": c.photo_sha256 is not None, "stop_index": stop_of.get(c.id),
        })
    bounds = (t.time_at(0), t.time_at(len(t) - 1)) if len(t) else (None, None)
    return RepDayRead(
        rep={"id": day.rep.id, "name": day.rep.display_name},
        day=day.day.isoformat(),
        coords=coords.value,
        figures=DayFigures(
            fixes=len(track.checked), fixes_by_status=day.fixes_by_status,
            excluded_outside_hours=day.discarded, distance_m=round(track.distance_m, 1), moving_s=track.moving_s,
            stopped_s=track.stopped_s, gap_s=track.gap_s, first_fix=bounds[0], last_fix=bounds[1],
        ),
        track={
            "type": "LineString", "coordinates": [[lon, lat] for lat, lon in vertices],
            "properties": {"times": [datetime.fromtimestamp(x, tz=UTC).isoformat() for x in t.t[line].tolist()]},
        },
        stops=stops,
        trips=[{"start": tr.start_time, "end": tr.end_time, "distance_m": round(tr.distance_m, 1),
                "moving_s": tr.moving_s} for tr in track.trips],
        gaps=[{"start": g.start, "end": g.end, "duration_s": g.duration_s, "distance_m": round(g.distance_m, 1),
               "in_stop": g.in_stop} for g in track.gaps],
        checkins=checkins,
        anomalies=[{"kind": a.kind.value, "start": a.start, "end": a.end, "detail": a.detail, "ref": a.ref}
                   for a in day.review.anomalies],
        plan=_plan(day, coords),
    )
