"""Idempotency keys of captured records.

A record's key is unique per device and source. It is built from what identifies the
communication itself, not from the phone's ``_id``: ``_id`` restarts after a factory
reset (a new SMS would collide with an old one) and changes when a backup is restored
(an old SMS would be stored twice). So:

* SMS: time (ms), raw address, body — ``read``/``seen``/``status``/``type`` change over
  the life of a message (outbox → sent) and are left out;
* call: time (ms), raw number, duration (s), type code.

The key is an HMAC (keyed with the server secret), not a plain hash: for excluded
(personal) numbers only the key is kept, and a plain hash of time and number could be
reversed by trying every number. Rotating ``FIELDCRM_SECRET_KEY`` changes the keys, so
records re-sent after a rotation are stored again.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from functools import lru_cache

KEY_HEX_CHARS = 32
_SEPARATOR = "\x1f"


def key_secret(secret_key: str) -> bytes:
    """A key for record keys only, derived from the server secret (domain-separated)."""
    return hashlib.sha256(b"fieldcrm.capture.source-key\x00" + secret_key.encode()).digest()


def epoch_ms(at: datetime) -> int:
    return round(at.timestamp() * 1000)


@lru_cache(maxsize=8)
def _keyed(secret: bytes) -> hmac.HMAC:
    """HMAC state with the key already absorbed: copying it skips the key setup per record."""
    return hmac.new(secret, digestmod="sha256")


def source_key(secret: bytes, source: str, *parts: object) -> str:
    message = _SEPARATOR.join([source, *["" if part is None else str(part) for part in parts]])
    mac = _keyed(secret).copy()
    mac.update(message.encode())
    return mac.hexdigest()[:KEY_HEX_CHARS]
