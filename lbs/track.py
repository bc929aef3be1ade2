"""Columnar track (numpy arrays) used by the fast trajectory algorithms."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from numpy.typing import ArrayLike, NDArray

from lbs.errors import InvalidCoordinate, InvalidTime
from lbs.filtering import CheckedFix
from lbs.geo import haversine_np
from lbs.points import Fix


@dataclass(frozen=True, slots=True, eq=False)
class Track:
    """Time-ordered fixes as arrays: ``t`` in UTC epoch seconds, ``lat``/``lon`` in degrees.

    Build it with :meth:`from_fixes`, :meth:`from_checked` (keeps only ``ok`` fixes) or
    :meth:`from_arrays`; all of them validate and sort by time.
    """

    t: NDArray[np.float64]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]

    @classmethod
    def from_arrays(cls, t: ArrayLike, lat: ArrayLike, lon: ArrayLike) -> Track:
        ta = np.asarray(t, dtype=np.float64).ravel()
        la = np.asarray(lat, dtype=np.float64).ravel()
        lo = np.asarray(lon, dtype=np.float64).ravel()
        if not (ta.size == la.size == lo.size):
            raise InvalidCoordinate("t, lat and lon must have the same length", field="track")
        if not np.all(np.isfinite(ta)):
            raise InvalidTime("track times must be finite", field="t")
        if not (np.all(np.abs(la) <= 90) and np.all(np.abs(lo) <= 180)):
            raise InvalidCoordinate("track has coordinates out of range (or NaN)", field="track")
        if ta.size > 1 and np.any(np.diff(ta) < 0):
            order = np.argsort(ta, kind="stable")
            ta, la, lo = ta[order], la[order], lo[order]
        return cls(ta, la, lo)

    @classmethod
    def from_fixes(cls, fixes: Sequence[Fix]) -> Track:
        return cls.from_arrays(
            [f.time.timestamp() for f in fixes], [f.lat for f in fixes], [f.lon for f in fixes]
        )

    @classmethod
    def from_checked(cls, checked: Sequence[CheckedFix]) -> Track:
        return cls.from_fixes([c.fix for c in checked if c.ok])

    def __len__(self) -> int:
        return int(self.t.size)

    def time_at(self, index: int) -> datetime:
        return datetime.fromtimestamp(float(self.t[index]), tz=UTC)

    def step_distances(self) -> NDArray[np.float64]:
        """Distance in metres from each fix to the next (length ``n - 1``)."""
        return haversine_np(self.lat[:-1], self.lon[:-1], self.lat[1:], self.lon[1:])

    def take(self, indices: ArrayLike) -> Track:
        idx = np.asarray(indices, dtype=np.intp)
        return Track(self.t[idx], self.lat[idx], self.lon[idx])
