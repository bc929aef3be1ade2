"""OEM call-recording folders and file names.

Each OEM's recorder writes to its own folder with its own name pattern. The tables
below are data: the agent lists :data:`RECORDING_FOLDERS`, and
:func:`parse_recording_name` turns a file name into the other party (number and/or
contact name) and the start time. Times in names are the phone's **local** time and
come back naive; the caller applies the phone's zone.

Patterns marked ``verified=False`` are the common real-world forms, not confirmed on
a device of that OEM. A name no pattern fits still yields a result
(``oem="unknown"``, no number, no time) so that the file can be matched to its call by
file time later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import PurePosixPath


class Oem(StrEnum):
    XIAOMI = "xiaomi"
    SAMSUNG = "samsung"
    HUAWEI = "huawei"  # Huawei and Honor
    OPPO = "oppo"
    VIVO = "vivo"
    ONEPLUS = "oneplus"
    AOSP = "aosp"  # AOSP / LineageOS dialer
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class RecordingFolder:
    """A folder (relative to shared storage, ``/sdcard``) where an OEM recorder writes."""

    oem: Oem
    path: str
    verified: bool = True


@dataclass(frozen=True, slots=True)
class NamePattern:
    """One file-name form: ``who`` (name and/or number) and ``ts`` (read with ``time_format``)."""

    key: str
    oems: tuple[Oem, ...]
    regex: re.Pattern[str]
    time_format: str
    verified: bool
    example: str


@dataclass(frozen=True, slots=True)
class RecordingName:
    """What a recording's file name tells. ``started_at`` is naive phone-local time."""

    file_name: str
    oem: Oem
    number: str | None
    contact_name: str | None
    started_at: datetime | None
    pattern: str | None
    verified: bool


RECORDING_FOLDERS: tuple[RecordingFolder, ...] = (
    RecordingFolder(Oem.XIAOMI, "MIUI/sound_recorder/call_rec"),
    RecordingFolder(Oem.SAMSUNG, "Recordings/Call"),
    RecordingFolder(Oem.SAMSUNG, "Call"),
    RecordingFolder(Oem.SAMSUNG, "Sounds/Call"),
    RecordingFolder(Oem.HUAWEI, "Sounds/CallRecord"),
    RecordingFolder(Oem.HUAWEI, "record", verified=False),
    RecordingFolder(Oem.OPPO, "Music/Recordings/Call Recordings"),
    RecordingFolder(Oem.OPPO, "Recordings"),
    RecordingFolder(Oem.VIVO, "Record/Call"),
    RecordingFolder(Oem.ONEPLUS, "Record/PhoneRecord"),
    RecordingFolder(Oem.AOSP, "Recordings/Call recordings"),
    RecordingFolder(Oem.AOSP, "Music/Call Recordings"),
)

RECORDING_EXTENSIONS: frozenset[str] = frozenset(
    {".mp3", ".m4a", ".amr", ".awb", ".aac", ".wav", ".3gp", ".ogg", ".opus"}
)


def _pattern(key: str, oems: tuple[Oem, ...], regex: str, fmt: str, verified: bool, example: str) -> NamePattern:
    return NamePattern(key, oems, re.compile(regex), fmt, verified, example)


# Most specific first: the first pattern whose regex and time both fit wins (after the
# folder's own OEM has been given the first try).
NAME_PATTERNS: tuple[NamePattern, ...] = (
    _pattern("xiaomi_label", (Oem.XIAOMI,), r"^[^@]+@(?P<who>.+)_(?P<ts>\d{14})$", "%Y%m%d%H%M%S", True,
             "通话录音@张三(13812345678)_20240501143015.mp3"),
    _pattern("xiaomi_paren", (Oem.XIAOMI,), r"^(?P<who>[^@]*\([^()]+\))_(?P<ts>\d{14})$", "%Y%m%d%H%M%S",
             False, "张三(13812345678)_20240501143015.mp3"),
    _pattern("samsung", (Oem.SAMSUNG,), r"^(?:Call recording|通话录音|통화 녹음) (?P<who>.+)_(?P<ts>\d{6}_\d{6})$",
             "%y%m%d_%H%M%S", True, "Call recording 张三_240501_143015.m4a"),
    _pattern("aosp_google", (Oem.AOSP,), r"^Call recording (?P<who>.+?) (?P<ts>\d{6} \d{6})$", "%y%m%d %H%M%S",
             False, "Call recording 13812345678 240501 143015.m4a"),
    _pattern("lineage", (Oem.AOSP,), r"^(?P<who>.+)_(?P<ts>\d{6}_\d{9})$", "%y%m%d_%H%M%S%f", False,
             "13812345678_240501_143015123.m4a"),
    _pattern("aosp_long", (Oem.AOSP,), r"^(?P<who>.+)_(?P<ts>\d{8}_\d{6})$", "%Y%m%d_%H%M%S", False,
             "13812345678_20240501_143015.m4a"),
    _pattern("samsung_old", (Oem.SAMSUNG,), r"^(?P<who>.+)_(?P<ts>\d{6}_\d{6})$", "%y%m%d_%H%M%S", False,
             "张三_240501_143015.m4a"),
    _pattern("oppo_at", (Oem.OPPO,), r"^(?P<who>.+)@(?P<ts>\d{14})$", "%Y%m%d%H%M%S", False,
             "张三@20240501143015.m4a"),
    _pattern("oppo_dash", (Oem.OPPO,), r"^(?P<who>\+?\d[\d ]{2,})-(?P<ts>\d{14})$", "%Y%m%d%H%M%S", False,
             "13812345678-20240501143015.m4a"),
    _pattern("vivo", (Oem.VIVO, Oem.HUAWEI), r"^(?P<who>.+ \+?\d[\d\-]{2,})_(?P<ts>\d{14})$", "%Y%m%d%H%M%S",
             False, "张三 13812345678_20240501143015.m4a"),
    _pattern("huawei", (Oem.HUAWEI, Oem.VIVO, Oem.XIAOMI), r"^(?P<who>.+)_(?P<ts>\d{14})$", "%Y%m%d%H%M%S",
             False, "13812345678_20240501143015.amr"),
    _pattern("oneplus_seconds", (Oem.ONEPLUS,), r"^(?P<who>.+)_(?P<ts>\d{12})$", "%y%m%d%H%M%S", False,
             "13812345678_240501143015.m4a"),
    _pattern("oneplus", (Oem.ONEPLUS,), r"^(?P<who>.+)_(?P<ts>\d{10})$", "%y%m%d%H%M", False,
             "13812345678_2405011430.m4a"),
)

_COPY_SUFFIX = re.compile(r"\s?\(\d{1,3}\)$")
_NAME_WITH_NUMBER = re.compile(r"^(?P<name>.*?)\s*[(（](?P<number>\+?[\d][\d \-]{2,})[)）]$")
_NAME_SPACE_NUMBER = re.compile(r"^(?P<name>.+?)\s+(?P<number>\+?\d[\d\-]{2,})$")
_NUMBER = re.compile(r"^\+?[\d][\d \-()]{2,}$")
_NO_CALLER = {"unknown", "private", "未知号码", "私人号码", "未知", "unknown number"}
_MAX_NAME = 255


def folder_oem(path: str) -> Oem | None:
    """The OEM whose recorder folder contains ``path`` (a file path or a folder)."""
    parent = str(PurePosixPath(path.replace("\\", "/")).parent).lower().rstrip("/")
    matches = [f for f in RECORDING_FOLDERS if parent == f.path.lower() or parent.endswith("/" + f.path.lower())]
    return max(matches, key=lambda f: len(f.path)).oem if matches else None


def is_recording_file(path: str) -> bool:
    return PurePosixPath(path).suffix.lower() in RECORDING_EXTENSIONS


def parse_recording_name(path: str) -> RecordingName:
    """Read the other party and start time from a recording's path or file name.

    The folder, when the path has one, decides between OEMs that share a pattern.
    """
    file_name = PurePosixPath(path.replace("\\", "/")).name[:_MAX_NAME]
    stem = file_name
    suffix = PurePosixPath(file_name).suffix
    if suffix.lower() in RECORDING_EXTENSIONS:
        stem = file_name[: -len(suffix)]
    stem = _COPY_SUFFIX.sub("", stem.strip())
    oem = folder_oem(path)
    ordered = sorted(NAME_PATTERNS, key=lambda p: oem not in p.oems) if oem else NAME_PATTERNS
    for pattern in ordered:
        m = pattern.regex.match(stem)
        if m is None:
            continue
        try:
            started_at = datetime.strptime(m.group("ts"), pattern.time_format)
        except ValueError:
            continue
        number, name = _split_who(m.group("who"))
        return RecordingName(
            file_name=file_name,
            oem=oem if oem in pattern.oems else pattern.oems[0],
            number=number,
            contact_name=name,
            started_at=started_at,
            pattern=pattern.key,
            verified=pattern.verified,
        )
    return RecordingName(file_name, oem or Oem.UNKNOWN, None, None, None, None, False)


def _split_who(who: str) -> tuple[str | None, str | None]:
    """``张三(138...)``, ``张三 138...``, ``138...`` or ``张三`` → (number, name)."""
    who = who.strip()
    if who.lower() in _NO_CALLER:
        return None, None
    for regex in (_NAME_WITH_NUMBER, _NAME_SPACE_NUMBER):
        m = regex.match(who)
        if m:
            number = m.group("number").strip()
            name = m.group("name").strip()
            return number, (name if name and name != number and not _NUMBER.match(name) else None)
    if _NUMBER.match(who):
        return who, None
    return None, who or None
