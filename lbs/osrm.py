"""Travel matrices from an OSRM-compatible ``table`` service (osrm-backend, Valhalla's OSRM API…).

The only module of the package that does I/O; the planner receives it as a
:class:`lbs.routing.MatrixProvider`, so route solving itself stays pure. Large
requests are split into blocks of at most ``max_locations`` coordinates (osrm-backend's
``--max-table-size`` defaults to 100). Pairs the service cannot route (``null``) fall
back to the straight-line estimate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx
import numpy as np

from lbs.errors import InvalidConfig, MatrixProviderError
from lbs.routing.matrix import StraightLineMatrix, TravelMatrix


@dataclass(slots=True)
class OsrmTableMatrix:
    base_url: str
    profile: str = "driving"
    timeout_s: float = 10.0
    max_locations: int = 100
    fallback: StraightLineMatrix = field(default_factory=StraightLineMatrix)
    client: httpx.Client | None = None

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise InvalidConfig("base_url must be an http(s) URL", field="base_url")
        if self.max_locations < 2:
            raise InvalidConfig("max_locations must be at least 2", field="max_locations")

    def __call__(self, points: Sequence[tuple[float, float]]) -> TravelMatrix:
        n = len(points)
        estimate = self.fallback(points)
        durations = estimate.durations_s.astype(np.float64)
        distances = estimate.distances_m.astype(np.float64)
        block = max(1, self.max_locations // 2)
        client = self.client or httpx.Client(timeout=self.timeout_s)
        try:
            for i0 in range(0, n, block):
                for j0 in range(0, n, block):
                    src = list(range(i0, min(n, i0 + block)))
                    dst = list(range(j0, min(n, j0 + block)))
                    self._fill(client, points, src, dst, durations, distances)
        finally:
            if self.client is None:
                client.close()
        return TravelMatrix(np.rint(durations).astype(np.int64), np.rint(distances).astype(np.int64))

    def _fill(
        self,
        client: httpx.Client,
        points: Sequence[tuple[float, float]],
        src: list[int],
        dst: list[int],
        durations: np.ndarray,
        distances: np.ndarray,
    ) -> None:
        coords_idx = src + [j for j in dst if j not in src]
        pos = {k: p for p, k in enumerate(coords_idx)}
        coords = ";".join(f"{points[k][1]:.6f},{points[k][0]:.6f}" for k in coords_idx)
        url = f"{self.base_url.rstrip('/')}/table/v1/{self.profile}/{coords}"
        params = {
            "annotations": "duration,distance",
            "sources": ";".join(str(pos[k]) for k in src),
            "destinations": ";".join(str(pos[k]) for k in dst),
        }
        try:
            response = client.get(url, params=params, timeout=self.timeout_s)
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise MatrixProviderError(f"routing service request failed: {exc}") from exc
        if response.status_code != 200 or body.get("code") != "Ok":
            message = body.get("message") or body.get("code") or response.status_code
            raise MatrixProviderError(f"routing service error: {message}")
        for key, target in (("durations", durations), ("distances", distances)):
            rows = body.get(key)
            if not isinstance(rows, list) or len(rows) != len(src):
                raise MatrixProviderError(f"routing service returned no usable {key}")
            for a, row in zip(src, rows, strict=True):
                if not isinstance(row, list) or len(row) != len(dst):
                    raise MatrixProviderError(f"routing service returned a malformed {key} row")
                for b, value in zip(dst, row, strict=True):
                    if value is None:
                        continue
                    if not isinstance(value, int | float) or value < 0:
                        raise MatrixProviderError(f"routing service returned a bad {key} value: {value!r}")
                    target[a, b] = float(value)
