"""Tracker configuration pointing at this server with the device's own credentials.

OwnTracks (the default) is configured with its ``owntracks:///config?inline=<base64 JSON>``
link, which opens a preview whose **Save** must be tapped. HTTP mode (``mode: 3``) posts each
fix to ``url`` with Basic auth; the server takes the device token as the password.
Traccar Client has no configuration link: see docs/agent.md for its settings.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shlex
from typing import Any


def owntracks_config(*, url: str, device: str, token: str) -> dict[str, Any]:
    return {
        "_type": "configuration",
        "mode": 3,
        "url": url,
        "auth": True,
        "username": device,
        "password": token,
        "deviceId": device,
        "tid": device[-2:].upper(),
        "monitoring": 1,
        "locatorDisplacement": 50,
        "locatorInterval": 300,
        "pubExtendedData": True,
    }


def config_link(config: dict[str, Any]) -> str:
    inline = base64.urlsafe_b64encode(json.dumps(config, separators=(",", ":")).encode()).decode()
    return f"owntracks:///config?inline={inline}"


def open_link_command(link: str) -> str:
    return f"am start -a android.intent.action.VIEW -d {shlex.quote(link)}"


def config_fingerprint(config: dict[str, Any]) -> str:
    """What the local store remembers of an applied configuration (never the token itself)."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()
