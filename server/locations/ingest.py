"""Fix ingestion: decode → filter (with the stored neighbours as context) → discard outside
tracking hours → store every other fix with its status → move the rep's latest position.

One transaction per batch. A fix already stored (same device, time and position) is a
duplicate and changes nothing, so re-sending a batch is a no-op. The batch travels as
columns (:class:`IncomingFixes`) from the request body to the insert: no object per fix.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import repeat
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray
from pydantic import ValidationError
from sqlmodel import Session

from crm.devices import Device
from crm.errors import DomainError
from crm.locations import LocationDiscard, LocationFix
from lbs.filtering import STATUSES, FilterConfig, FixColumns, FixStatus, Verdicts, judge
from lbs.hours import DAY_US, local_us
from server.locations.bulk import Raw, bound, db_time, db_times, insert_rows, upsert_row
from server.locations.incoming import IncomingFixes, from_records
from server.locations.latest import next_position, save_position
from server.locations.outcome import Outcome
from server.locations.records import RECORDS, parse_batch
from server.locations.stored import Stored, stored_near
from server.logs import get_logger, log_event

logger = get_logger("locations")

FIX_COLUMNS = (
    "device_id", "division_id", "rep_user_id", "time", "lat", "lon", "accuracy_m", "speed_mps", "bearing_deg",
    "altitude_m", "battery_pct", "charging", "mock", "source", "provider", "status", "received_at",
)
_OK = STATUSES.index(FixStatus.OK)
_OUTSIDE_HOURS = STATUSES.index(FixStatus.OUTSIDE_HOURS)
_VALUES = [s.value for s in STATUSES]


@dataclass(frozen=True, slots=True)
class FixPolicy:
    """How fixes are judged: the filter, the stop radius of the live state, the local time zone."""

    filter: FilterConfig
    stop_radius_m: float
    tz: str


def decode_records(records: Sequence[Any]) -> tuple[IncomingFixes, list[dict[str, Any]]]:
    """The valid records as columns, and a result for every invalid one."""
    try:
        return from_records(RECORDS.validate_python(records), list(range(len(records)))), []
    except ValidationError as error:
        failures: dict[int, dict[str, Any]] = {}
        for e in error.errors(include_url=False):
            index, *where = e["loc"]
            if isinstance(index, int) and index not in failures:
                field = ".".join(str(p) for p in where) or None
                failures[index] = {"index": index, "status": "rejected", "reason": e["msg"], "field": field}
        good = [i for i in range(len(records)) if i not in failures]
        parsed = RECORDS.validate_python([records[i] for i in good])
        return from_records(parsed, good), list(failures.values())


def _judge_fresh(
    raw: Raw, device_id: int, fresh: FixColumns, policy: FixPolicy, now: datetime, stored: Stored
) -> Verdicts:
    """Verdicts for ``fresh`` (first in the result) with the stored context; the whole context
    window is read when the nearest stored fixes do not settle them."""
    verdicts = judge(FixColumns.concat(fresh, stored.context), policy.filter, now)
    if stored.more_before or stored.more_after:
        watched = np.arange(len(verdicts.status)) < len(fresh)
        if not verdicts.unaffected_by_more(watched, policy.filter.max_jump_run, earlier=stored.more_before,
                                           later=stored.more_after):
            whole = stored_near(raw, device_id, int(fresh.t_us.min()), int(fresh.t_us.max()), None)
            verdicts = judge(FixColumns.concat(fresh, whole.context), policy.filter, now)
    return verdicts


def _repeats(t_us: NDArray[np.int64], lat: NDArray[np.float64], lon: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Fixes (in time order) equal in time and position to an earlier one."""
    repeated = np.zeros(t_us.size, dtype=bool)
    if not np.any(t_us[1:] == t_us[:-1]):
        return repeated
    seen: set[tuple[int, float, float]] = set()
    for k, key in enumerate(zip(t_us.tolist(), lat.tolist(), lon.tolist(), strict=True)):
        repeated[k] = key in seen
        seen.add(key)
    return repeated


def _local_days(t_us: NDArray[np.int64], tz: str) -> Counter[date]:
    days = local_us(t_us, ZoneInfo(tz)) // DAY_US
    return Counter({date.fromordinal(day + 719_163): n for day, n in Counter(days.tolist()).items()})  # 1970-01-01


def ingest_fixes(
    session: Session, *, device: Device, batch: IncomingFixes, policy: FixPolicy, now: datetime
) -> Outcome:
    """Store a device's fixes; the outcome names every fix by its ``batch.index``.

    Fixes outside tracking hours are counted per local day and not stored.
    """
    outcome = Outcome()
    if not len(batch):
        return outcome
    raw = Raw.of(session)
    cols = batch.fixes
    device_id = int(device.id)  # type: ignore[arg-type]
    first, last = int(cols.t_us.min()), int(cols.t_us.max())
    stored = stored_near(raw, device_id, first, last, 2 * (policy.filter.max_jump_run + 1))
    absent = stored.absent(cols.t_us, cols.lat, cols.lon)
    new = np.flatnonzero(absent)
    outcome.duplicate = [batch.index[k] for k in np.flatnonzero(~absent).tolist()]
    fresh = FixColumns(cols.t_us[new], cols.lat[new], cols.lon[new], cols.accuracy_m[new], cols.speed_mps[new],
                       cols.mock[new], [cols.source[k] for k in new.tolist()])
    verdicts = _judge_fresh(raw, device_id, fresh, policy, now, stored)
    order = verdicts.order[verdicts.order < new.size]  # fresh fixes by time
    status = verdicts.status[order]
    outside = status == _OUTSIDE_HOURS
    excluded = order[outside]
    outcome.excluded = [batch.index[k] for k in new[excluded].tolist()]
    order, status = order[~outside], status[~outside]
    repeated = _repeats(fresh.t_us[order], fresh.lat[order], fresh.lon[order])
    outcome.duplicate += [batch.index[k] for k in new[order[repeated]].tolist()]
    order, status = order[~repeated], status[~repeated]
    keep = new[order]
    outcome.stored = dict(zip([batch.index[k] for k in keep.tolist()], status.tolist(), strict=True))
    if outside.any():
        _count_discards(raw, device, _local_days(fresh.t_us[excluded], policy.tz))
    _insert(raw, device, batch, keep, status, now)
    if device.rep_user_id is not None:
        # Read after the first write: on SQLite that holds the write lock, so concurrent batches
        # of one rep move the position one after the other.
        position = next_position(raw, device=device, fixes=batch, good=keep[status == _OK],
                                 stop_radius_m=policy.stop_radius_m, now=now)
        if position is not None:
            save_position(raw, position)
    return outcome


def _insert(
    raw: Raw, device: Device, batch: IncomingFixes, keep: NDArray[np.intp], status: NDArray[np.int8],
    now: datetime,
) -> None:
    """One row per kept fix, in the order given (by time)."""
    if not keep.size:
        return
    dialect = raw.dialect
    cols = batch.fixes
    every = keep.size == len(batch) and bool(np.all(keep == np.arange(keep.size)))
    ids = keep.tolist()

    def pick(values: list[Any]) -> list[Any]:
        return values if every else [values[k] for k in ids]

    rows = zip(
        repeat(device.id), repeat(device.division_id), repeat(device.rep_user_id),
        db_times(dialect, cols.t_us[keep]), cols.lat[keep].tolist(), cols.lon[keep].tolist(),
        pick(batch.accuracy_m), pick(batch.speed_mps), pick(batch.bearing_deg), pick(batch.altitude_m),
        pick(batch.battery_pct), pick(batch.charging), pick(batch.mock), pick(batch.source), pick(batch.provider),
        [_VALUES[c] for c in status.tolist()], repeat(db_time(dialect, now)),
    )
    insert_rows(raw, LocationFix.__table__, FIX_COLUMNS, rows)


def _count_discards(raw: Raw, device: Device, per_day: Counter[date]) -> None:
    table = LocationDiscard.__table__
    for day, count in per_day.items():
        upsert_row(
            raw,
            table,
            {"device_id": device.id, "division_id": device.division_id, "rep_user_id": device.rep_user_id,
             "day": bound(raw.dialect, table, "day", day), "reason": FixStatus.OUTSIDE_HOURS.value, "count": count},
            conflict=("device_id", "day", "reason"),
            increment=("count",),
        )


def ingest_batch(
    session: Session, *, device: Device, body: bytes, policy: FixPolicy, max_batch: int, now: datetime
) -> Outcome:
    """The agent's batch (raw JSON body): per-record results in input order, one transaction."""
    valid, raw = parse_batch(body)
    records = raw if valid is None else valid
    if len(records) > max_batch:
        raise DomainError(f"at most {max_batch} records per batch", field="records", status_code=413)
    if valid is None:
        batch, rejected = decode_records(raw)
    else:
        batch, rejected = from_records(valid, list(range(len(valid)))), []
    outcome = ingest_fixes(session, device=device, batch=batch, policy=policy, now=now)
    outcome.rejected = rejected
    session.commit()
    log_event(logger, "ingest.locations.batch", device_id=device.id, records=len(records), **outcome.counts())
    return outcome
