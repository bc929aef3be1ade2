"""Travel-time/distance matrices and the providers that build them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from lbs.errors import InvalidConfig, MatrixProviderError, require_fields, require_number
from lbs.geo import haversine_np


@dataclass(frozen=True, slots=True, eq=False)
class TravelMatrix:
    """``durations_s[i][j]`` and ``distances_m[i][j]`` from point i to point j (integers)."""

    durations_s: NDArray[np.int64]
    distances_m: NDArray[np.int64]

    def __post_init__(self) -> None:
        d, m = self.durations_s, self.distances_m
        if d.ndim != 2 or d.shape[0] != d.shape[1] or d.shape != m.shape:
            raise MatrixProviderError("matrix must be square with matching durations and distances")
        if d.size and (d.min() < 0 or m.min() < 0):
            raise MatrixProviderError("matrix entries must be non-negative")

    @classmethod
    def from_durations(cls, durations: Sequence[Sequence[float]] | NDArray) -> TravelMatrix:
        """A matrix where distances equal durations (for abstract instances such as TSPLIB)."""
        d = np.rint(np.asarray(durations, dtype=np.float64)).astype(np.int64)
        return cls(d, d.copy())


class MatrixProvider(Protocol):
    def __call__(self, points: Sequence[tuple[float, float]]) -> TravelMatrix:
        """Matrix over (lat, lon) points, in the given order."""
        ...


@dataclass(frozen=True, slots=True)
class StraightLineMatrix:
    """Great-circle distance × ``detour_factor``, driven at ``speed_mps``.

    The default 1.35 × at 8.3 m/s (30 km/h) matches typical city driving; tune per region.
    """

    detour_factor: float = 1.35
    speed_mps: float = 8.3

    def __post_init__(self) -> None:
        require_fields(self, "speed_mps", positive=True)
        if require_number(self.detour_factor, "detour_factor") < 1:
            raise InvalidConfig("detour_factor must be at least 1", field="detour_factor")

    def __call__(self, points: Sequence[tuple[float, float]]) -> TravelMatrix:
        if not points:
            empty = np.zeros((0, 0), dtype=np.int64)
            return TravelMatrix(empty, empty.copy())
        lat = np.array([p[0] for p in points], dtype=np.float64)
        lon = np.array([p[1] for p in points], dtype=np.float64)
        road = haversine_np(lat[:, None], lon[:, None], lat[None, :], lon[None, :]) * self.detour_factor
        return TravelMatrix(np.rint(road / self.speed_mps).astype(np.int64), np.rint(road).astype(np.int64))
