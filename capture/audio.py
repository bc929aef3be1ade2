"""Audio duration of call recordings (mp3, m4a/3gp, amr, wav, ogg, ...).

mutagen reads most containers; AMR (Huawei and older recorders) it does not, so AMR
frames are counted here. Corrupt or unreadable audio gives ``duration=None`` with a
reason, never an exception.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import mutagen

_AMR_NB = b"#!AMR\n"
_AMR_WB = b"#!AMR-WB\n"
# Payload bytes per frame type (ITU/3GPP TS 26.101 and 26.201); None = reserved/invalid.
_AMR_NB_SIZES = (12, 13, 15, 17, 19, 20, 26, 31, 5, 6, 5, 5, None, None, None, 0)
_AMR_WB_SIZES = (17, 23, 32, 36, 40, 46, 50, 58, 60, 5, None, None, None, None, 0, 0)
_AMR_FRAME_SECONDS = 0.02
_AMR_MAX_BYTES = 256 * 1024 * 1024  # ≈ 45 h of AMR-NB at 12.2 kbit/s


@dataclass(frozen=True, slots=True)
class AudioInfo:
    """``duration_s`` is ``None`` exactly when ``reason`` says why."""

    duration_s: float | None
    format: str | None = None
    reason: str | None = None


def probe_audio(path: str | os.PathLike[str]) -> AudioInfo:
    """Duration and container of an audio file."""
    file = Path(path)
    try:
        with file.open("rb") as handle:
            head = handle.read(16)
    except OSError as error:
        return AudioInfo(None, reason=f"cannot read file: {error.strerror or error}")
    if not head:
        return AudioInfo(None, reason="empty file")
    if head.startswith(_AMR_WB):
        return _amr(file, len(_AMR_WB), _AMR_WB_SIZES, "amr-wb")
    if head.startswith(_AMR_NB):
        return _amr(file, len(_AMR_NB), _AMR_NB_SIZES, "amr")
    try:
        audio = mutagen.File(file)
    except Exception as error:  # mutagen raises many types on hostile input; none may escape
        return AudioInfo(None, reason=f"unreadable audio: {type(error).__name__}: {error}")
    if audio is None or getattr(audio, "info", None) is None:
        return AudioInfo(None, reason="unknown or unsupported audio format")
    length = getattr(audio.info, "length", None)
    kind = type(audio).__name__.lower()
    if not isinstance(length, int | float) or not length > 0 or length == float("inf"):
        return AudioInfo(None, format=kind, reason="no audio frames")
    return AudioInfo(float(length), format=kind)


def audio_duration(path: str | os.PathLike[str]) -> float | None:
    """Seconds of audio, or ``None`` when unknown (see :func:`probe_audio` for the reason)."""
    return probe_audio(path).duration_s


def _amr(file: Path, offset: int, sizes: tuple[int | None, ...], kind: str) -> AudioInfo:
    try:
        if file.stat().st_size > _AMR_MAX_BYTES:
            return AudioInfo(None, format=kind, reason="AMR file too large")
        data = file.read_bytes()
    except OSError as error:
        return AudioInfo(None, format=kind, reason=f"cannot read file: {error.strerror or error}")
    frames, pos = 0, offset
    while pos < len(data):
        size = sizes[(data[pos] >> 3) & 0x0F]
        if size is None:
            return AudioInfo(None, format=kind, reason=f"corrupt AMR frame header at byte {pos}")
        if pos + 1 + size > len(data):
            break  # a cut final frame: count the complete ones
        pos += 1 + size
        frames += 1
    if frames == 0:
        return AudioInfo(None, format=kind, reason="no audio frames")
    return AudioInfo(round(frames * _AMR_FRAME_SECONDS, 3), format=kind)
