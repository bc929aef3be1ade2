"""Record keys: the precomputed HMAC state gives exactly the HMAC of the parts; stored rows' keys
sort by time."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta

from server.ingest.keys import KEY_HEX_CHARS, TIME_HEX_CHARS, epoch_ms, key_secret, ordered_key, source_key


def test_source_key_is_the_hmac_of_the_parts() -> None:
    secret = key_secret("some server secret")
    for parts in (("sms", 1714545000000, "13812345678", "你好"), ("call", 1, None, 60, 3)):
        message = "\x1f".join("" if p is None else str(p) for p in parts).encode()
        expected = hmac.digest(secret, message, "sha256").hex()[:KEY_HEX_CHARS]
        assert source_key(secret, *parts) == expected  # type: ignore[arg-type]
    assert source_key(secret, "sms", 1) != source_key(key_secret("another"), "sms", 1)


def test_ordered_keys_sort_by_time_and_keep_the_hmac() -> None:
    secret = key_secret("some server secret")
    times = [
        datetime(2026, 5, 1, tzinfo=UTC) + timedelta(seconds=s) for s in (0, 0.0004, 1, 60, 86_400 * 400)
    ]
    keys = [ordered_key(epoch_ms(at), source_key(secret, "sms", epoch_ms(at), "10086", "")) for at in times]
    assert keys == sorted(keys) and all(len(key) == KEY_HEX_CHARS for key in keys)
    assert keys[0] == keys[1]  # the same ms: the same key (the HMAC of the same parts)
    private = source_key(secret, "sms", 1, "10086", "")
    assert ordered_key(epoch_ms(times[0]), private).endswith(private[: KEY_HEX_CHARS - TIME_HEX_CHARS])
