"""Payloads of tracker apps → :class:`~capture.fix.Fix`.

* OwnTracks HTTP mode: a JSON object per POST; only ``_type: location`` is a fix,
  other types (``transition``, ``waypoint``, ``lwt``, ``card``, ``status``, ...)
  come back as :class:`NotALocation`.
* OsmAnd / Traccar Client: query (or form) parameters; ``speed`` is in knots.
* Traccar Client 9+: a JSON body ``{"location": {...} or [...], "device_id": ...}``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from capture.errors import PayloadError
from capture.fix import KMH_MPS, KNOT_MPS, Fix, FixSource
from capture.timeconv import from_epoch, from_iso

#: Bodies larger than this are refused before JSON decoding.
MAX_PAYLOAD_BYTES = 256 * 1024
#: Traccar JSON bodies may batch fixes; more than this is refused.
MAX_BATCH = 1000
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True, slots=True)
class NotALocation:
    """A valid OwnTracks message that carries no fix (``_type`` other than ``location``)."""

    type: str


def parse_owntracks(payload: Mapping[str, Any] | str | bytes, *, device_key: str | None = None) -> Fix | NotALocation:
    """Decode one OwnTracks HTTP message.

    ``device_key`` should come from the authenticated request; without it the
    message's ``topic`` or ``tid`` is used.
    """
    data = _object(payload)
    kind = data.get("_type")
    if not isinstance(kind, str) or not kind:
        raise PayloadError("missing _type", "_type")
    if kind != "location":
        return NotALocation(kind)
    key = device_key or _text(data, "topic") or _text(data, "tid")
    if not key:
        raise PayloadError("no device_key given and neither topic nor tid in the message", "tid")
    status = _number(data, "bs")
    velocity = _number(data, "vel")
    return Fix(
        device_key=key,
        time=_epoch(_required(data, "tst"), "tst"),
        lat=_required(data, "lat"),
        lon=_required(data, "lon"),
        source=FixSource.OWNTRACKS,
        accuracy_m=_unknown_if_negative(_number(data, "acc")),
        speed_mps=None if velocity is None or velocity < 0 else velocity * KMH_MPS,
        bearing_deg=_unknown_if_negative(_number(data, "cog")),
        altitude_m=_number(data, "alt"),
        battery_pct=_number(data, "batt"),
        charging=None if status in (None, 0) else status in (2, 3),
        provider=_text(data, "t"),
    )


def parse_osmand(params: Mapping[str, str] | str, *, now: datetime | None = None) -> Fix:
    """Decode OsmAnd / Traccar Client parameters (a mapping or a raw query string).

    A missing ``timestamp`` takes ``now`` when given, and is an error otherwise.
    """
    data: Mapping[str, str] = _query(params) if isinstance(params, str) else params
    key = _text(data, "id") or _text(data, "deviceid")
    if not key:
        raise PayloadError("missing device id", "id")
    lat, lon = _osmand_position(data)
    raw_time = _text(data, "timestamp")
    if raw_time is None:
        if now is None:
            raise PayloadError("missing timestamp", "timestamp")
        time = now
    else:
        time = _flexible_time(raw_time)
    speed = _number(data, "speed")
    return Fix(
        device_key=key,
        time=time,
        lat=lat,
        lon=lon,
        source=FixSource.OSMAND,
        accuracy_m=_unknown_if_negative(_number(data, "accuracy")),
        speed_mps=None if speed is None or speed < 0 else speed * KNOT_MPS,
        bearing_deg=_unknown_if_negative(_first(data, ("bearing", "heading"))),
        altitude_m=_number(data, "altitude"),
        battery_pct=_first(data, ("batt", "battery")),
        charging=_flag(data, "charge"),
        mock=bool(_flag(data, "mock")),
    )


def parse_traccar_json(payload: Mapping[str, Any] | str | bytes) -> list[Fix]:
    """Decode a Traccar Client 9+ JSON body (one location or a batch)."""
    data = _object(payload)
    key = _text(data, "device_id")
    if not key:
        raise PayloadError("missing device_id", "device_id")
    locations = data.get("location")
    if isinstance(locations, Mapping):
        locations = [locations]
    if not isinstance(locations, list) or not locations:
        raise PayloadError("missing location", "location")
    if len(locations) > MAX_BATCH:
        raise PayloadError(f"more than {MAX_BATCH} locations in one body", "location")
    return [_traccar_location(key, item) for item in locations]


def _traccar_location(key: str, item: object) -> Fix:
    if not isinstance(item, Mapping):
        raise PayloadError("location must be an object", "location")
    coords = item.get("coords")
    if not isinstance(coords, Mapping):
        raise PayloadError("missing coords", "location.coords")
    battery = item.get("battery") if isinstance(item.get("battery"), Mapping) else {}
    level = _number(battery, "level")
    stamp = item.get("timestamp")
    if not isinstance(stamp, str | int | float) or isinstance(stamp, bool):
        raise PayloadError("missing timestamp", "location.timestamp")
    charging = battery.get("is_charging")
    return Fix(
        device_key=key,
        time=_flexible_time(str(stamp)),
        lat=_required(coords, "latitude"),
        lon=_required(coords, "longitude"),
        source=FixSource.TRACCAR_JSON,
        accuracy_m=_unknown_if_negative(_number(coords, "accuracy")),
        speed_mps=_unknown_if_negative(_number(coords, "speed")),
        bearing_deg=_unknown_if_negative(_number(coords, "heading")),
        altitude_m=_number(coords, "altitude"),
        battery_pct=None if level is None or level < 0 else level * 100,
        charging=charging if isinstance(charging, bool) else None,
        mock=item.get("mock") is True,
        provider=_text(item, "event"),
    )


def _osmand_position(data: Mapping[str, str]) -> tuple[float, float]:
    location = _text(data, "location")
    if location is not None and _text(data, "lat") is None:
        parts = location.split(",")
        if len(parts) != 2:
            raise PayloadError("location must be 'lat,lon'", "location")
        return _parse_float(parts[0], "location"), _parse_float(parts[1], "location")
    return _required(data, "lat"), _required(data, "lon")


def _object(payload: Mapping[str, Any] | str | bytes) -> Mapping[str, Any]:
    if isinstance(payload, str | bytes):
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise PayloadError(f"payload larger than {MAX_PAYLOAD_BYTES} bytes")
        try:
            payload = json.loads(payload)
        except (ValueError, RecursionError) as error:
            raise PayloadError(f"not JSON: {error}") from None
    if not isinstance(payload, Mapping):
        raise PayloadError("payload must be a JSON object")
    return payload


def _query(text: str) -> dict[str, str]:
    if len(text) > MAX_PAYLOAD_BYTES:
        raise PayloadError(f"query larger than {MAX_PAYLOAD_BYTES} bytes")
    return dict(parse_qsl(text.lstrip("?"), keep_blank_values=False))


def _flexible_time(text: str) -> datetime:
    """Epoch seconds, epoch milliseconds or ISO-8601 (naive means UTC)."""
    text = text.strip()
    try:
        return from_epoch(float(text))
    except ValueError as error:
        if _looks_numeric(text):
            raise PayloadError(str(error), "timestamp") from None
    try:
        return from_iso(text)
    except (ValueError, OverflowError):
        raise PayloadError(f"unreadable timestamp {text[:40]!r}", "timestamp") from None


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _epoch(value: float, field: str) -> datetime:
    try:
        return from_epoch(value)
    except ValueError as error:
        raise PayloadError(str(error), field) from None


def _number(data: Mapping[str, Any], key: str) -> float | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise PayloadError("expected a number, got a boolean", key)
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        number = _parse_float(value, key)
    else:
        raise PayloadError(f"expected a number, got {type(value).__name__}", key)
    if not math.isfinite(number):
        raise PayloadError(f"not a finite number: {value!r}", key)
    return number


def _parse_float(text: str, key: str) -> float:
    try:
        number = float(text.strip())
    except ValueError:
        raise PayloadError(f"not a number: {text[:40]!r}", key) from None
    if not math.isfinite(number):
        raise PayloadError(f"not a finite number: {text[:40]!r}", key)
    return number


def _first(data: Mapping[str, Any], keys: tuple[str, ...]) -> float | None:
    for key in keys:
        value = _number(data, key)
        if value is not None:
            return value
    return None


def _required(data: Mapping[str, Any], key: str) -> float:
    value = _number(data, key)
    if value is None:
        raise PayloadError("required", key)
    return value


def _text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | str):
        text = str(value).strip()
        return text or None
    raise PayloadError(f"expected text, got {type(value).__name__}", key)


def _flag(data: Mapping[str, Any], key: str) -> bool | None:
    value = data.get(key)
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise PayloadError(f"expected true/false, got {text[:20]!r}", key)


def _unknown_if_negative(value: float | None) -> float | None:
    """Android and the tracker apps send -1 for "unknown" accuracy, speed and bearing."""
    return None if value is None or value < 0 else value
