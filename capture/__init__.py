"""Pure decoders for data captured on company phones.

Nothing here touches a database, the network or the clock; every function takes
plain data (text, dicts, file paths) and returns typed results or raises a
:class:`~capture.errors.CaptureError` subclass. See ``docs/capture.md``.
"""

from capture.content_query import (
    CALL_LOG_PROJECTION,
    CALL_LOG_URI,
    END_MARKER,
    SMS_PROJECTION,
    SMS_URI,
    QueryResult,
    content_query_command,
    parse_content_query,
)
from capture.errors import (
    CaptureError,
    ContentQueryFormatError,
    DumpsysFormatError,
    PayloadError,
    ProviderError,
    ProviderErrorKind,
    RecordError,
    TranscriberConfigError,
    TranscriptionError,
)
from capture.records import (
    CallRecord,
    CallType,
    Decoded,
    Direction,
    Presentation,
    SmsRecord,
    SmsType,
    call_from_row,
    decode_call_rows,
    decode_sms_rows,
    sms_from_row,
)

__all__ = [
    "CALL_LOG_PROJECTION",
    "CALL_LOG_URI",
    "END_MARKER",
    "SMS_PROJECTION",
    "SMS_URI",
    "CallRecord",
    "CallType",
    "CaptureError",
    "ContentQueryFormatError",
    "Decoded",
    "Direction",
    "DumpsysFormatError",
    "PayloadError",
    "Presentation",
    "ProviderError",
    "ProviderErrorKind",
    "QueryResult",
    "RecordError",
    "SmsRecord",
    "SmsType",
    "TranscriberConfigError",
    "TranscriptionError",
    "call_from_row",
    "content_query_command",
    "decode_call_rows",
    "decode_sms_rows",
    "parse_content_query",
    "sms_from_row",
]
