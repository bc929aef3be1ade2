"""A batch of decoded fixes as columns: what the filter looks at (``lbs`` :class:`FixColumns`)
and what is only stored. Built straight from validated records or tracker fixes, without an
object per fix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from capture.fix import Fix as CapturedFix
from lbs.filtering import FixColumns
from lbs.points import EPOCH, MICROSECOND
from lbs.points import Fix as LbsFix
from server.locations.records import LocationIn


@dataclass(frozen=True, slots=True, eq=False)
class IncomingFixes:
    """``index[k]`` is the position of fix ``k`` in the request; lists hold values as received."""

    index: list[int]
    fixes: FixColumns
    accuracy_m: list[float | None]
    speed_mps: list[float | None]
    bearing_deg: list[float | None]
    altitude_m: list[float | None]
    battery_pct: list[float | None]
    charging: list[bool | None]
    mock: list[bool]
    source: list[str]
    provider: list[str | None]

    def __len__(self) -> int:
        return len(self.index)


def _floats(values: list[float | None]) -> np.ndarray:
    return np.array(values, dtype=np.float64) if values else np.empty(0)


def from_records(records: Sequence[LocationIn], index: list[int]) -> IncomingFixes:
    """Validated agent records (``records[k]`` came at position ``index[k]``)."""
    n = len(records)
    accuracy = [r.get("accuracy_m") for r in records]
    speed = [r.get("speed_mps") for r in records]
    mock = [r.get("mock", False) for r in records]
    provider = [r.get("provider") for r in records]
    fixes = FixColumns(
        np.fromiter(((r["time"] - EPOCH) // MICROSECOND for r in records), dtype=np.int64, count=n),
        np.fromiter((r["lat"] for r in records), dtype=np.float64, count=n),
        np.fromiter((r["lon"] for r in records), dtype=np.float64, count=n),
        _floats(accuracy),
        _floats(speed),
        np.array(mock, dtype=bool),
        provider,
    )
    return IncomingFixes(
        index, fixes, accuracy, speed,
        [r.get("bearing_deg") for r in records],
        [r.get("altitude_m") for r in records],
        [r.get("battery_pct") for r in records],
        [r.get("charging") for r in records],
        mock,
        [r.get("source", "dumpsys") for r in records],
        provider,
    )


def from_captured(fixes: Sequence[CapturedFix]) -> IncomingFixes:
    """Fixes decoded from a tracker app's request."""
    columns = FixColumns.from_fixes([
        LbsFix(f.time, f.lat, f.lon, f.accuracy_m, f.speed_mps, mock=f.mock, source=f.provider) for f in fixes
    ])

    def column(name: str) -> list[Any]:
        return [getattr(f, name) for f in fixes]

    return IncomingFixes(
        list(range(len(fixes))), columns, column("accuracy_m"), column("speed_mps"), column("bearing_deg"),
        column("altitude_m"), column("battery_pct"), column("charging"), column("mock"),
        [f.source.value for f in fixes], column("provider"),
    )
