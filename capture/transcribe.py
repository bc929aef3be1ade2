"""Speech-to-text behind one small interface.

:class:`NoTranscriber` is the default and returns ``None`` (never a made-up text).
:class:`VoskTranscriber` runs the offline Vosk engine on a model directory the admin
downloaded; it is imported and loaded only when configured. Configuration problems
(package or model missing) raise :class:`TranscriberConfigError` at construction;
a file that cannot be decoded raises :class:`TranscriptionError` at ``transcribe``.
"""

from __future__ import annotations

import array
import importlib
import json
import os
import re
import shutil
import subprocess
import threading
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from capture.errors import TranscriberConfigError, TranscriptionError

SAMPLE_RATE = 16_000
_CHUNK_BYTES = 8000
_FFMPEG_TIMEOUT_S = 600
_CJK_GAP = re.compile(r"(?<=[\u3400-\u9fff]) (?=[\u3400-\u9fff])")


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    engine: str
    model: str | None = None


@runtime_checkable
class Transcriber(Protocol):
    def transcribe(self, path: str | os.PathLike[str]) -> Transcript | None:
        """The text spoken in the recording, or ``None`` when nothing was recognised."""


class NoTranscriber:
    """No speech engine configured: every recording stays without transcript."""

    def transcribe(self, path: str | os.PathLike[str]) -> Transcript | None:
        return None


class VoskTranscriber:
    """Offline transcription with Vosk (``pip install 'fieldcrm[transcribe]'``).

    ``model_dir`` is an unpacked Vosk model (e.g. ``vosk-model-small-cn-0.22``).
    Audio other than 16-bit PCM WAV is decoded with ``ffmpeg`` when it is on PATH.
    """

    engine = "vosk"

    def __init__(self, model_dir: str | os.PathLike[str], *, ffmpeg: str | None = "ffmpeg") -> None:
        self.model_dir = Path(model_dir)
        _check_model_dir(self.model_dir)
        self._vosk = _import_vosk()
        self.ffmpeg = shutil.which(ffmpeg) if ffmpeg else None
        self._model: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        """Load the model now (otherwise the first :meth:`transcribe` does it)."""
        with self._lock:
            if self._model is None:
                self._vosk.SetLogLevel(-1)
                try:
                    self._model = self._vosk.Model(str(self.model_dir))
                except Exception as error:  # vosk raises a bare Exception for a bad model
                    raise TranscriberConfigError(f"Vosk could not load {self.model_dir}: {error}") from None

    def transcribe(self, path: str | os.PathLike[str]) -> Transcript | None:
        pcm, rate = self._pcm(Path(path))
        self.load()
        recogniser = self._vosk.KaldiRecognizer(self._model, rate)
        parts: list[str] = []
        for start in range(0, len(pcm), _CHUNK_BYTES):
            if recogniser.AcceptWaveform(pcm[start : start + _CHUNK_BYTES]):
                parts.append(json.loads(recogniser.Result()).get("text", ""))
        parts.append(json.loads(recogniser.FinalResult()).get("text", ""))
        text = _CJK_GAP.sub("", " ".join(p for p in parts if p).strip())
        return Transcript(text=text, engine=self.engine, model=self.model_dir.name) if text else None

    def _pcm(self, path: Path) -> tuple[bytes, int]:
        """16-bit mono PCM bytes and their sample rate."""
        if not path.is_file():
            raise TranscriptionError(f"no such file: {path}")
        try:
            return _wav_pcm(path)
        except (wave.Error, EOFError, ValueError):
            pass
        except OSError as error:
            raise TranscriptionError(f"cannot read {path.name}: {error}") from None
        if self.ffmpeg is None:
            raise TranscriptionError(f"{path.name}: not 16-bit PCM WAV and ffmpeg is not installed")
        command = [self.ffmpeg, "-nostdin", "-loglevel", "error", "-i", str(path), "-ac", "1",
                   "-ar", str(SAMPLE_RATE), "-f", "s16le", "-"]
        try:
            done = subprocess.run(command, capture_output=True, timeout=_FFMPEG_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise TranscriptionError(f"{path.name}: ffmpeg timed out") from None
        if done.returncode != 0 or not done.stdout:
            message = done.stderr.decode("utf-8", "replace").strip()[:200] or "no audio"
            raise TranscriptionError(f"{path.name}: ffmpeg could not decode: {message}")
        return done.stdout, SAMPLE_RATE


def make_transcriber(engine: str | None, model_dir: str | os.PathLike[str] | None = None) -> Transcriber:
    """The transcriber for a setting value: ``None``/``"none"`` or ``"vosk"`` (needs ``model_dir``)."""
    if engine is None or engine.strip().lower() in ("", "none"):
        return NoTranscriber()
    if engine.strip().lower() == "vosk":
        if model_dir is None:
            raise TranscriberConfigError("the vosk engine needs a model directory")
        return VoskTranscriber(model_dir)
    raise TranscriberConfigError(f"unknown speech engine {engine!r} (known: none, vosk)")


def _import_vosk() -> Any:
    try:
        return importlib.import_module("vosk")
    except ImportError:
        raise TranscriberConfigError(
            "the 'vosk' package is not installed: pip install 'fieldcrm[transcribe]' (or pip install vosk)"
        ) from None


def _check_model_dir(model_dir: Path) -> None:
    if not model_dir.is_dir():
        raise TranscriberConfigError(
            f"Vosk model directory not found: {model_dir} (download and unpack a model there, see docs/capture.md)"
        )
    if not ((model_dir / "am").is_dir() or (model_dir / "conf").is_dir()):
        raise TranscriberConfigError(f"{model_dir} does not look like a Vosk model (no am/ or conf/ inside)")


def _wav_pcm(path: Path) -> tuple[bytes, int]:
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2 or wav.getcomptype() != "NONE":
            raise ValueError("not 16-bit PCM")
        channels, rate = wav.getnchannels(), wav.getframerate()
        frames = wav.readframes(wav.getnframes())
    if channels == 1:
        return frames, rate
    samples = array.array("h")  # slicing whole 2-byte samples keeps their byte order as it is
    samples.frombytes(frames[: len(frames) - len(frames) % (2 * channels)])
    return samples[::channels].tobytes(), rate
