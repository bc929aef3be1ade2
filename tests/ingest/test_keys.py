"""Record keys: the precomputed HMAC state gives exactly the HMAC of the parts."""

from __future__ import annotations

import hmac

from server.ingest.keys import KEY_HEX_CHARS, key_secret, source_key


def test_source_key_is_the_hmac_of_the_parts() -> None:
    secret = key_secret("some server secret")
    for parts in (("sms", 1714545000000, "13812345678", "你好"), ("call", 1, None, 60, 3)):
        message = "\x1f".join("" if p is None else str(p) for p in parts).encode()
        expected = hmac.digest(secret, message, "sha256").hex()[:KEY_HEX_CHARS]
        assert source_key(secret, *parts) == expected  # type: ignore[arg-type]
    assert source_key(secret, "sms", 1) != source_key(key_secret("another"), "sms", 1)
