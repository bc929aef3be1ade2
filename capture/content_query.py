"""Parse the output of Android's ``content query`` shell command.

The command prints ``Row: <i> col=val, col=val, ...`` without escaping anything, so
values may contain ``, `` and ``=`` and the last value may run over several lines.
Parsing is therefore only safe with a fixed projection whose *last* column is the
only free-text one (the SMS ``body``): every earlier column is found by looking for
``, <next column>=`` in order, and everything after the last column's ``=`` up to
the next row header is its value.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from capture.errors import ContentQueryFormatError, ProviderError, ProviderErrorKind

SMS_URI = "content://sms"
CALL_LOG_URI = "content://call_log/calls"

#: SMS columns, free text (``body``) last.
SMS_PROJECTION: tuple[str, ...] = (
    "_id", "thread_id", "address", "person", "date", "date_sent", "protocol", "read", "status",
    "type", "subject", "service_center", "locked", "sub_id", "error_code", "seen", "body",
)
#: Call-log columns, the contact ``name`` (user-editable text) last.
CALL_LOG_PROJECTION: tuple[str, ...] = (
    "_id", "number", "date", "duration", "type", "numbertype", "numberlabel", "countryiso",
    "geocoded_location", "presentation", "subscription_id", "name",
)

#: Line the agent appends (``; echo ...``) so that a cut connection is detectable.
END_MARKER = "__fieldcrm_end__"

NO_RESULT = "No result found."
_ERROR_PREFIX = "Error while accessing provider:"
_EXCEPTION_LINE = re.compile(
    r"^(?:Caused by: )?(?:[A-Za-z_$][\w$]*\.)+[\w$]*(?:Exception|Error|Throwable)(?::\s.*)?$"
)
_STACK_LINE = re.compile(r"^\s+(?:at |\.\.\. \d+ more)|^\s*Caused by: |^\s*Suppressed: ")
_NOISE_LINE = re.compile(r"^(?:WARNING: linker: |\[\s*\d+\.\d+\]|CANNOT LINK EXECUTABLE)")


@dataclass(frozen=True, slots=True)
class QueryResult:
    """Rows of one ``content query`` call.

    ``rows`` holds only rows known to be complete. ``truncated`` is true when the
    output stopped early (cut connection, missing end marker, provider error after
    some rows); ``problem`` then says why. ``anomalies`` lists oddities that did not
    stop parsing (noise lines, a line inside a value that imitates a row header).
    """

    rows: list[dict[str, str | None]]
    truncated: bool = False
    problem: str | None = None
    anomalies: tuple[str, ...] = field(default=())


def content_query_command(
    uri: str,
    projection: Sequence[str],
    *,
    where: str | None = None,
    sort: str | None = None,
    end_marker: bool = True,
) -> str:
    """The shell command line for ``content query`` (quoted for the device's ``sh``)."""
    _check_projection(projection)
    parts = ["content", "query", "--uri", shlex.quote(uri), "--projection", shlex.quote(":".join(projection))]
    if where:
        parts += ["--where", shlex.quote(where)]
    if sort:
        parts += ["--sort", shlex.quote(sort)]
    command = " ".join(parts)
    return f"{command}; echo {END_MARKER}" if end_marker else command


def parse_content_query(
    text: str, projection: Sequence[str], *, end_marker: str | None = None
) -> QueryResult:
    """Split ``content query`` output into ``{column: value}`` rows (``NULL`` → ``None``).

    Pass ``end_marker`` when the command was built with one (see
    :func:`content_query_command`): its absence then marks the output as truncated
    and the last, possibly cut, row is dropped.

    Raises :class:`ProviderError` when the provider refused or failed and
    :class:`ContentQueryFormatError` when the text is not ``content query`` output.
    """
    _check_projection(projection)
    header = _header_regex(tuple(projection))
    lines = _split_lines(text)
    anomalies: list[str] = []

    marker_seen = False
    if end_marker is not None and lines and lines[-1].strip() == end_marker:
        marker_seen = True
        lines.pop()

    start = _skip_noise(lines, anomalies)
    if start == len(lines):
        if lines or end_marker is None or marker_seen:
            raise ContentQueryFormatError("no output from content query" if not lines else "only noise lines")
        return QueryResult(rows=[], truncated=True, problem="no output (connection closed?)")
    first = lines[start]
    if first.startswith(_ERROR_PREFIX) or _EXCEPTION_LINE.match(first):
        raise _provider_error(lines[start:])
    if first.strip() == NO_RESULT:
        extra = [line for line in lines[start + 1 :] if line.strip()]
        if extra:
            raise ContentQueryFormatError(f"unexpected text after {NO_RESULT!r}: {extra[0][:80]!r}")
        return _finish([], marker_seen, end_marker, anomalies, None)
    if not first.startswith("Row: "):
        if start == len(lines) - 1 and any(known.startswith(first) for known in ("Row: ", NO_RESULT, _ERROR_PREFIX)):
            return QueryResult(rows=[], truncated=True, problem="output cut in its first line")
        raise ContentQueryFormatError(f"not content query output: {first[:80]!r}")

    rows, problem = _parse_rows(lines, start, projection, header, anomalies)
    return _finish(rows, marker_seen, end_marker, anomalies, problem)


def _finish(
    rows: list[dict[str, str | None]],
    marker_seen: bool,
    end_marker: str | None,
    anomalies: list[str],
    problem: str | None,
) -> QueryResult:
    if problem is None and end_marker is not None and not marker_seen:
        problem = "end marker missing: output was cut"
        if rows:
            rows.pop()
    return QueryResult(rows=rows, truncated=problem is not None, problem=problem, anomalies=tuple(anomalies))


def _parse_rows(
    lines: list[str],
    start: int,
    projection: Sequence[str],
    header: re.Pattern[str],
    anomalies: list[str],
) -> tuple[list[dict[str, str | None]], str | None]:
    rows: list[dict[str, str | None]] = []
    names = tuple(projection)
    last = len(lines) - 1
    values: list[str | None] | None = None
    tail: list[str] = []
    i = start
    while i <= last:
        line = lines[i]
        if line.startswith("Row: "):
            m = header.match(line)
            expected = len(rows) + (values is not None)
            if m is not None and int(m.group(1)) == expected:
                if values is not None:
                    rows.append(_row(names, values, tail))
                values = list(m.groups()[1:])
                tail = [line[m.end() :]]
                i += 1
                continue
            header_of_expected = f"Row: {expected} "
            cut = m is None and (line.startswith(header_of_expected) or header_of_expected.startswith(line))
            if cut and i == last:
                return _close(rows, names, values, tail), f"row {expected} cut short"
            if values is None:
                raise ContentQueryFormatError(f"first line is not row 0 of this projection: {line[:80]!r}")
            anomalies.append(f"line {i + 1} looks like a row header inside a value")
        elif line.startswith(_ERROR_PREFIX) and _is_stack_trace(lines[i + 1 :]):
            error = _provider_error(lines[i:])
            return _close(rows, names, values, tail), f"provider error after {len(rows)} rows: {error.reason}"
        tail.append(line)
        i += 1
    return _close(rows, names, values, tail), None


def _close(
    rows: list[dict[str, str | None]], names: tuple[str, ...], values: list[str | None] | None, tail: list[str]
) -> list[dict[str, str | None]]:
    if values is not None:
        rows.append(_row(names, values, tail))
    return rows


def _row(names: tuple[str, ...], values: list[str | None], tail: list[str]) -> dict[str, str | None]:
    """``values``: the header's (``NULL`` already ``None``); ``tail``: the lines of the last value."""
    last = "\n".join(tail)
    values.append(None if last == "NULL" else last)
    return dict(zip(names, values, strict=True))


def _split_lines(text: str) -> list[str]:
    """Lines of the output; CRLF (old ``adb shell`` through a pty) becomes LF."""
    first_nl = text.find("\n")
    if first_nl > 0 and text[first_nl - 1] == "\r":
        text = text.replace("\r\n", "\n")
    if text.endswith("\n"):
        text = text[:-1]
    return text.split("\n") if text else []


def _skip_noise(lines: list[str], anomalies: list[str]) -> int:
    i = 0
    while i < len(lines) and (not lines[i].strip() or _NOISE_LINE.match(lines[i])):
        if lines[i].strip():
            anomalies.append(f"ignored noise line: {lines[i][:80]}")
        i += 1
    return i


def _is_stack_trace(lines: list[str]) -> bool:
    body = [line for line in lines if line.strip()]
    return bool(body) and _EXCEPTION_LINE.match(body[0]) is not None and all(
        _STACK_LINE.match(line) or _EXCEPTION_LINE.match(line) for line in body[1:]
    )


def _provider_error(lines: list[str]) -> ProviderError:
    provider = None
    if lines and lines[0].startswith(_ERROR_PREFIX):
        provider = lines[0][len(_ERROR_PREFIX) :].strip() or None
        lines = lines[1:]
    messages = [line.strip() for line in lines if _EXCEPTION_LINE.match(line.strip())]
    reason = messages[0] if messages else (lines[0].strip() if lines else "unknown error")
    return ProviderError(_classify(" ".join(messages) or reason), reason, provider)


def _classify(text: str) -> ProviderErrorKind:
    if "SecurityException" in text or "Permission Denial" in text:
        return ProviderErrorKind.PERMISSION_DENIED
    lowered = text.lower()
    if "could not find provider" in lowered or "unknown url" in lowered or "unknown uri" in lowered:
        return ProviderErrorKind.NO_SUCH_PROVIDER
    if "SQLite" in text or "no such column" in lowered or "invalid column" in lowered:
        return ProviderErrorKind.BAD_QUERY
    return ProviderErrorKind.OTHER


_COLUMN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _check_projection(projection: Sequence[str]) -> None:
    if isinstance(projection, str) or not projection:
        raise ContentQueryFormatError("projection must be a non-empty sequence of column names")
    bad = [name for name in projection if not isinstance(name, str) or not _COLUMN_NAME.match(name)]
    if bad:
        raise ContentQueryFormatError(f"invalid column name(s) in projection: {bad!r}")
    if len(set(projection)) != len(projection):
        raise ContentQueryFormatError("projection has duplicate columns")


@lru_cache(maxsize=32)
def _header_regex(projection: tuple[str, ...]) -> re.Pattern[str]:
    """``Row: N c0=`` then, per later column, ``(value), cK=`` in an atomic group (a value that is just
    ``NULL`` leaves its group unmatched: ``None``).

    Atomic groups take each separator at its first occurrence and never backtrack into
    it: a hostile line repeating the column names costs linear time instead of the
    exponential backtracking of plain lazy groups.
    """
    later = "".join(f"(?>(?:NULL|(.*?)), {re.escape(name)}=)" for name in projection[1:])
    return re.compile(rf"Row: (\d+) {re.escape(projection[0])}={later}")
