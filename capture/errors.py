"""Typed errors raised by the decoders.

Every decoder raises a subclass of :class:`CaptureError`, so callers can catch one
type at a batch boundary and still tell the cases apart.
"""

from __future__ import annotations

from enum import StrEnum


class CaptureError(ValueError):
    """Base class: the input could not be decoded."""


class ProviderErrorKind(StrEnum):
    PERMISSION_DENIED = "permission_denied"
    NO_SUCH_PROVIDER = "no_such_provider"
    BAD_QUERY = "bad_query"
    OTHER = "other"


class ProviderError(CaptureError):
    """`content query` reported an error instead of rows (e.g. ``Permission Denial``)."""

    def __init__(self, kind: ProviderErrorKind, reason: str, provider: str | None = None) -> None:
        self.kind = kind
        self.reason = reason
        self.provider = provider
        where = f" ({provider})" if provider else ""
        super().__init__(f"provider error{where}: {kind.value}: {reason}")

    @property
    def permission_denied(self) -> bool:
        return self.kind is ProviderErrorKind.PERMISSION_DENIED


class ContentQueryFormatError(CaptureError):
    """The text is not `content query` output at all."""


class RecordError(CaptureError):
    """One record (SMS, call, fix) has a bad value; the rest of its batch is unaffected."""

    def __init__(self, field: str, value: object, reason: str, source_id: str | None = None) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        self.source_id = source_id
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        who = f"record {source_id}: " if source_id is not None else ""
        super().__init__(f"{who}{field}={shown}: {reason}")


class DumpsysFormatError(CaptureError):
    """`dumpsys` output that does not have the expected shape."""


class PayloadError(CaptureError):
    """A tracker payload (OwnTracks, OsmAnd/Traccar) is malformed or out of range."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        self.reason = reason
        self.field = field
        super().__init__(f"{field}: {reason}" if field else reason)


class TranscriberConfigError(CaptureError):
    """A speech engine was configured but cannot be used (package or model missing)."""


class TranscriptionError(CaptureError):
    """A configured engine could not transcribe one file (undecodable audio, ...)."""
