"""Tracker apps on the phones: OwnTracks HTTP and OsmAnd / Traccar Client (query or JSON).

Decoding is ``capture.trackers``; this module maps a request to the device and the
decoded fixes. OwnTracks authenticates with Basic auth (password = device token).
OsmAnd / Traccar Client cannot send headers, so their device identifier (``id``,
``deviceid`` or ``device_id``) is the device token itself; an Authorization header, when
present, takes precedence.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from capture.errors import PayloadError
from capture.trackers import NotALocation, parse_osmand, parse_owntracks, parse_traccar_json
from crm.devices import Device
from crm.errors import DomainError
from server.auth.lookup import DeviceTokens
from server.locations.incoming import IncomingFixes, from_captured


def _payload_error(error: PayloadError) -> DomainError:
    return DomainError(f"bad tracker payload: {error.reason}", field=error.field)


def owntracks_fixes(body: bytes, device: Device) -> IncomingFixes:
    """The fix in one OwnTracks message; other message types (transition, lwt, ...) carry none."""
    try:
        decoded = parse_owntracks(body, device_key=str(device.id))
    except PayloadError as error:
        raise _payload_error(error) from None
    return from_captured([] if isinstance(decoded, NotALocation) else [decoded])


def osmand_fixes(params: Mapping[str, str], now: datetime) -> tuple[str, IncomingFixes]:
    """Device identifier and fix of OsmAnd / Traccar Client query or form parameters."""
    try:
        fix = parse_osmand(params, now=now)
    except PayloadError as error:
        raise _payload_error(error) from None
    return fix.device_key, from_captured([fix])


def traccar_json_fixes(body: bytes) -> tuple[str, IncomingFixes]:
    """Device identifier and fixes of a Traccar Client 9 JSON body (one location or a batch)."""
    try:
        fixes = parse_traccar_json(body)
    except PayloadError as error:
        raise _payload_error(error) from None
    return fixes[0].device_key, from_captured(fixes)


def device_by_identifier(tokens: DeviceTokens, identifier: str, now: datetime) -> Device:
    device = tokens.device_in_thread(identifier, now=now)
    if device is None:
        raise DomainError("unknown device: the identifier must be the device token", field="id")
    return device

