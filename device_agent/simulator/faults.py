"""Faults a test can switch on for one phone. All fields are safe to set from any thread."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Faults:
    link_rate: float | None = None
    """Bytes per second the phone sends at (a slow USB hub or Wi-Fi); None is full speed."""
    disconnect_after_bytes: int | None = None
    """Drop the TCP connection once this many bytes of a file were sent by sync RECV (one shot)."""
    storage_free_bytes: int | None = None
    """Free space shared storage reports; pushes beyond it fail with ENOSPC. None: computed."""
    provider_errors: dict[str, str] = field(default_factory=dict)
    """Authority (sms, call_log, com.android.contacts) -> Java exception line its queries fail with."""
    tracker_offline: bool = False
    """The tracker app has no network: its messages queue and none is sent until this is cleared."""

    def clear(self) -> None:
        self.link_rate = None
        self.disconnect_after_bytes = None
        self.storage_free_bytes = None
        self.provider_errors.clear()
        self.tracker_offline = False

    def take_cut(self, sent: int, size: int) -> int | None:
        """For a transfer that has sent `sent` bytes and is about to send `size` more: how many of those
        to send before the connection drops (once), or None to send them all."""
        limit = self.disconnect_after_bytes
        if limit is None or sent + size < limit:
            return None
        self.disconnect_after_bytes = None
        return max(0, limit - sent)
