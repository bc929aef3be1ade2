"""Epoch and ISO-8601 timestamps → aware UTC datetimes, with range checks."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Largest epoch value (ms) a datetime can hold: 9999-12-31T23:59:59.999Z.
MAX_EPOCH_MS = 253_402_300_799_999
#: Epoch values at or above this are milliseconds, below it seconds (≈ 5138-11-16 in s, 1973 in ms).
MS_THRESHOLD = 100_000_000_000


def from_epoch_ms(ms: int) -> datetime:
    """Milliseconds since the epoch → aware UTC datetime. Raises ``ValueError`` out of range."""
    if not 0 < ms <= MAX_EPOCH_MS:
        raise ValueError(f"epoch milliseconds out of range: {ms}")
    return EPOCH + timedelta(milliseconds=ms)


def from_epoch(value: float) -> datetime:
    """Epoch seconds or milliseconds (told apart by size) → aware UTC datetime."""
    if not math.isfinite(value):
        raise ValueError(f"not a finite timestamp: {value}")
    ms = value if abs(value) >= MS_THRESHOLD else value * 1000
    return from_epoch_ms(round(ms))


def from_iso(text: str) -> datetime:
    """ISO-8601 (``Z`` or offset; naive means UTC) → aware UTC datetime."""
    value = datetime.fromisoformat(text.strip().replace("z", "Z"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
