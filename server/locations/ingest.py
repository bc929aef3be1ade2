"""Fix ingestion: decode → filter (with the stored neighbours as context) → discard outside
tracking hours → store every other fix with its status → move the rep's latest position.

One transaction per batch. A fix already stored (same device, time and position) is a
duplicate and changes nothing, so re-sending a batch is a no-op.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import select
from sqlmodel import Session

from capture.fix import Fix as CapturedFix
from crm.devices import Device
from crm.errors import DomainError
from crm.locations import LocationDiscard, LocationFix
from lbs.filtering import FilterConfig, FixStatus, filter_fixes
from lbs.points import Fix
from server.locations.bulk import insert_rows
from server.locations.positions import advance_position
from server.locations.records import RECORDS, LocationIn, parse_batch
from server.locations.upsert import upsert
from server.logs import get_logger, log_event

logger = get_logger("locations")

#: Stored fixes this close before/after a batch are the filter's context (speed jumps, duplicates).
CONTEXT = timedelta(minutes=10)

FIX_COLUMNS = (
    "device_id", "division_id", "rep_user_id", "time", "lat", "lon", "accuracy_m", "speed_mps", "bearing_deg",
    "altitude_m", "battery_pct", "charging", "mock", "source", "provider", "status", "received_at",
)


@dataclass(frozen=True, slots=True)
class FixPolicy:
    """How fixes are judged: the filter, the stop radius of the live state, the local time zone."""

    filter: FilterConfig
    stop_radius_m: float
    tz: str


@dataclass(frozen=True, slots=True)
class Incoming:
    """One decoded fix and what the filter does not look at."""

    fix: Fix
    source: str
    charging: bool | None


def from_capture(fix: CapturedFix) -> Incoming:
    return Incoming(
        Fix(fix.time, fix.lat, fix.lon, fix.accuracy_m, fix.speed_mps, fix.bearing_deg, fix.altitude_m,
            fix.battery_pct, fix.mock, fix.provider),
        fix.source.value,
        fix.charging,
    )


def _from_record(r: LocationIn) -> Incoming:
    g = r.get
    return Incoming(
        Fix(r["time"], r["lat"], r["lon"], g("accuracy_m"), g("speed_mps"), g("bearing_deg"), g("altitude_m"),
            g("battery_pct"), g("mock", False), g("provider")),
        g("source", "dumpsys"),
        g("charging"),
    )


def decode_records(records: Sequence[Any]) -> tuple[list[tuple[int, Incoming]], list[dict[str, Any]]]:
    """Valid records (with their position) and a result for every invalid one."""
    try:
        parsed = RECORDS.validate_python(records)
        return [(i, _from_record(r)) for i, r in enumerate(parsed)], []
    except ValidationError as error:
        failures: dict[int, dict[str, Any]] = {}
        for e in error.errors(include_url=False):
            index, *where = e["loc"]
            if isinstance(index, int) and index not in failures:
                field = ".".join(str(p) for p in where) or None
                failures[index] = {"index": index, "status": "rejected",
                                   "reason": e["msg"], "field": field}
        good = [i for i in range(len(records)) if i not in failures]
        parsed = RECORDS.validate_python([records[i] for i in good])
        return [(i, _from_record(r)) for i, r in zip(good, parsed, strict=True)], list(failures.values())


@dataclass(frozen=True, slots=True)
class _Stored:
    keys: set[tuple[datetime, float, float]]
    context: list[Fix]


def _stored_near(session: Session, device_id: int, start: datetime, end: datetime) -> _Stored:
    rows = session.execute(
        select(LocationFix.time, LocationFix.lat, LocationFix.lon, LocationFix.status).where(
            LocationFix.device_id == device_id, LocationFix.time >= start - CONTEXT, LocationFix.time <= end + CONTEXT
        )
    ).all()
    return _Stored(
        {(t, la, lo) for t, la, lo, _ in rows},
        [Fix(t, la, lo) for t, la, lo, status in rows if status == FixStatus.OK],
    )


def ingest_fixes(
    session: Session,
    *,
    device: Device,
    items: Sequence[tuple[int, Incoming]],
    policy: FixPolicy,
    now: datetime,
) -> list[dict[str, Any]]:
    """Store a device's fixes; returns one result dict per item (``index`` is the item's own).

    Fixes outside tracking hours are counted per local day and not stored.
    """
    results: list[dict[str, Any]] = []
    if not items:
        return results
    times = [inc.fix.time for _, inc in items]
    stored = _stored_near(session, device.id, min(times), max(times))  # type: ignore[arg-type]
    fresh: list[tuple[int, Incoming]] = []
    for index, inc in items:
        f = inc.fix
        if (f.time, f.lat, f.lon) in stored.keys:
            results.append({"index": index, "status": "duplicate"})
        else:
            fresh.append((index, inc))
    checked = filter_fixes([inc.fix for _, inc in fresh] + stored.context, policy.filter, now)
    rows, kept, discarded = [], [], Counter()
    zone = ZoneInfo(policy.tz)
    seen: set[tuple[datetime, float, float]] = set()
    for c in checked:
        if c.index >= len(fresh):
            continue  # context
        index, inc = fresh[c.index]
        f = inc.fix
        if c.status is FixStatus.OUTSIDE_HOURS:
            discarded[f.time.astimezone(zone).date()] += 1
            results.append({"index": index, "status": "excluded",
                            "reason": "outside tracking hours"})
            continue
        if (f.time, f.lat, f.lon) in seen:
            results.append({"index": index, "status": "duplicate"})
            continue
        seen.add((f.time, f.lat, f.lon))
        rows.append((device.id, device.division_id, device.rep_user_id, f.time, f.lat, f.lon, f.accuracy_m,
                     f.speed_mps, f.bearing_deg, f.altitude_m, f.battery_pct, inc.charging, f.mock, inc.source,
                     f.source, c.status.value, now))
        kept.append((c, inc))
        results.append({"index": index, "status": "accepted", "fix_status": c.status.value})
    insert_rows(session, LocationFix.__table__, FIX_COLUMNS, rows)
    _count_discards(session, device, discarded)
    if device.rep_user_id is not None:
        good = [(c.fix, inc.source, inc.charging) for c, inc in kept if c.ok]
        advance_position(session, device=device, fixes=good, stop_radius_m=policy.stop_radius_m, now=now)
    results.sort(key=lambda r: r["index"])
    return results


def _count_discards(session: Session, device: Device, per_day: Counter) -> None:
    for day, count in per_day.items():
        upsert(
            session,
            LocationDiscard.__table__,
            {"device_id": device.id, "division_id": device.division_id, "rep_user_id": device.rep_user_id,
             "day": day, "reason": FixStatus.OUTSIDE_HOURS.value, "count": count},
            conflict=("device_id", "day", "reason"),
            increment=("count",),
        )


def summarise(results: list[dict[str, Any]]) -> dict[str, Any]:
    counts = Counter(r["status"] for r in results)
    return {"accepted": counts["accepted"], "duplicate": counts["duplicate"], "rejected": counts["rejected"],
            "excluded": counts["excluded"], "results": results}


def ingest_batch(
    session: Session, *, device: Device, body: bytes, policy: FixPolicy, max_batch: int, now: datetime
) -> dict[str, Any]:
    """The agent's batch (raw JSON body): per-record results in input order, one transaction."""
    valid, raw = parse_batch(body)
    records = raw if valid is None else valid
    if len(records) > max_batch:
        raise DomainError(f"at most {max_batch} records per batch", field="records", status_code=413)
    if valid is None:
        items, rejected = decode_records(raw)
    else:
        items, rejected = [(i, _from_record(r)) for i, r in enumerate(valid)], []
    results = ingest_fixes(session, device=device, items=items, policy=policy, now=now)
    session.commit()
    out = summarise(sorted(results + rejected, key=lambda r: r["index"]))
    log_event(logger, "ingest.locations.batch", device_id=device.id, records=len(records),
              accepted=out["accepted"], duplicate=out["duplicate"], rejected=out["rejected"],
              excluded=out["excluded"])
    return out
