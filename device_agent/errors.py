"""Typed agent errors: each says what went wrong and what to do about it."""

from __future__ import annotations


class AgentError(Exception):
    """Base class; the message is shown to the IT admin as is."""


class DeviceGone(AgentError):
    """The phone disconnected (unplugged, adb restarted, Wi-Fi lost) during an operation."""


class DeviceNotReady(AgentError):
    """The phone is connected but not usable (``unauthorized``, ``offline``) or unknown to adb."""

    def __init__(self, serial: str, state: str) -> None:
        self.serial = serial
        self.state = state
        hint = {
            "unauthorized": "unlock the phone and tap Allow on the 'Allow USB debugging?' prompt",
            "offline": "reconnect the cable or restart adb on the phone",
            "absent": "the phone is not connected",
        }.get(state, "")
        super().__init__(f"{serial} is {state}" + (f": {hint}" if hint else ""))


class HostDiskFull(AgentError):
    """The agent host has too little free space to stage more data; nothing was lost."""


class ServerError(AgentError):
    """The server refused a request or could not be reached."""

    def __init__(self, message: str, status: int | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable


class NotEnrolled(AgentError):
    """The phone has no device token in the local store; provision it first."""
