"""Typed errors raised by the location package."""

from __future__ import annotations

import math


class LbsError(ValueError):
    """Base class: bad input to a location function. ``field`` names the offending input."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidCoordinate(LbsError):
    """Latitude/longitude missing, not finite or out of range."""


class InvalidTime(LbsError):
    """A naive datetime (no tz) or an impossible time range."""


class InvalidConfig(LbsError):
    """A configuration value outside its allowed range."""


class MatrixProviderError(LbsError):
    """A travel-time matrix could not be obtained (e.g. the routing server failed)."""


def require_number(value: object, name: str, *, positive: bool = False) -> float:
    """Return ``value`` as a float if it is a finite number ≥ 0 (> 0 when ``positive``)."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (positive and value == 0):  # type: ignore[operator]
        kind = "positive" if positive else "non-negative"
        raise InvalidConfig(f"{name} must be a {kind} number", field=name)
    return float(value)  # type: ignore[arg-type]


def require_fields(obj: object, *names: str, positive: bool = False) -> None:
    """:func:`require_number` for several attributes of a config dataclass."""
    for name in names:
        require_number(getattr(obj, name), name, positive=positive)
