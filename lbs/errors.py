"""Typed errors raised by the location package."""

from __future__ import annotations


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
