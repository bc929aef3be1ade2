"""What a device has already stored around a batch of fixes: the keys of stored fixes (to
spot re-sent ones) and the good stored fixes the filter sees as context.

The context is every good fix within ``CONTEXT`` of the batch. Read in full that can be
thousands of rows per single-fix post, so it is read as the rows inside the batch's time
span plus the nearest ``nearest`` good fixes on each side; the caller checks with
:meth:`lbs.filtering.Verdicts.unaffected_by_more` that the fixes left out cannot change the
verdicts, and reads the whole window (:func:`stored_near` with ``nearest=None``) when they
could.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Dialect

from crm.locations import LocationFix
from lbs.filtering import FixColumns, FixStatus
from server.locations.bulk import Raw, db_times, marker, micros

#: Stored fixes this close before/after a batch are the filter's context (speed jumps, duplicates).
CONTEXT = timedelta(minutes=10)
_CONTEXT_US = CONTEXT // timedelta(microseconds=1)
_ALL = 2**62


@dataclass(frozen=True, slots=True, eq=False)
class Stored:
    keys: set[tuple[int, float, float]]
    context: FixColumns
    #: Good fixes earlier than the context / later than it were left out.
    more_before: bool
    more_after: bool

    def absent(self, t_us: NDArray[np.int64], lat: NDArray[np.float64], lon: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Which of these fixes are not stored yet (same device, time and position)."""
        if not self.keys:
            return np.ones(t_us.size, dtype=bool)
        keys = self.keys
        return np.fromiter(
            ((t, a, o) not in keys for t, a, o in zip(t_us.tolist(), lat.tolist(), lon.tolist(), strict=True)),
            dtype=bool, count=t_us.size,
        )


@lru_cache(maxsize=8)
def _sql(dialect: Dialect) -> str:
    m, q = marker(dialect), dialect.identifier_preparer.quote
    table, time, lat, lon, status = (q(n) for n in (LocationFix.__tablename__, "time", "lat", "lon", "status"))
    columns = f"{time}, {lat}, {lon}, {status}"
    good = f"{status} = '{FixStatus.OK.value}'"
    return (
        f"SELECT 0 AS part, {columns} FROM {table} WHERE device_id = {m} AND {time} >= {m} AND {time} <= {m} "
        f"UNION ALL SELECT * FROM (SELECT 1 AS part, {columns} FROM {table} WHERE device_id = {m} "
        f"AND {time} >= {m} AND {time} < {m} AND {good} ORDER BY {time} DESC, {lat} DESC, {lon} DESC LIMIT {m}) "
        "AS earlier "
        f"UNION ALL SELECT * FROM (SELECT 2 AS part, {columns} FROM {table} WHERE device_id = {m} "
        f"AND {time} > {m} AND {time} <= {m} AND {good} ORDER BY {time}, {lat}, {lon} LIMIT {m}) AS later"
    )


def stored_near(raw: Raw, device_id: int, first_us: int, last_us: int, nearest: int | None) -> Stored:
    """Stored fixes of the device between ``first_us`` and ``last_us`` (UTC epoch µs) and the
    good ones within ``CONTEXT`` around them (the ``nearest`` on each side, or all)."""
    limit = _ALL if nearest is None else nearest
    start, first, last, end = db_times(
        raw.dialect, np.array([first_us - _CONTEXT_US, first_us, last_us, last_us + _CONTEXT_US])
    )
    rows = raw.rows(
        _sql(raw.dialect), (device_id, first, last, device_id, start, first, limit, device_id, last, end, limit)
    )
    part = np.fromiter((r[0] for r in rows), dtype=np.int8, count=len(rows))
    t_us = micros(raw.dialect, [r[1] for r in rows])
    lat = np.fromiter((r[2] for r in rows), dtype=np.float64, count=len(rows))
    lon = np.fromiter((r[3] for r in rows), dtype=np.float64, count=len(rows))
    good = np.fromiter((r[4] == FixStatus.OK.value for r in rows), dtype=bool, count=len(rows))
    inside = part == 0
    keys = set(zip(t_us[inside].tolist(), lat[inside].tolist(), lon[inside].tolist(), strict=True))
    more_before = int(np.count_nonzero(part == 1)) == limit
    more_after = int(np.count_nonzero(part == 2)) == limit
    if more_before:
        # Fixes at the earliest time read may continue unread: leave that time out, so that
        # every fix left out is strictly earlier than the context.
        good &= ~((part == 1) & (t_us == t_us[part == 1].min()))
    order = np.lexsort((lon, lat, t_us))
    order = order[good[order]]
    return Stored(keys, FixColumns.positions(t_us[order], lat[order], lon[order]), more_before, more_after)
