import importlib.util
import sys
import types
from pathlib import Path

import pytest

from capture import (
    NoTranscriber,
    Transcriber,
    TranscriberConfigError,
    TranscriptionError,
    VoskTranscriber,
    audio_duration,
    make_transcriber,
    probe_audio,
)
from tests.capture.conftest import DATA

AUDIO = DATA / "audio"


@pytest.mark.parametrize(
    ("name", "seconds", "kind"),
    [("call_1000ms.amr", 1.0, "amr"), ("call_800ms.awb", 0.8, "amr-wb"), ("call_1200ms.ogg", 1.2, "oggvorbis"),
     ("call_1500ms.mp3", 1.5, "mp3"), ("call_2000ms.m4a", 2.0, "mp4"), ("call_500ms.wav", 0.5, "wave")],
)
def test_durations_of_recorder_formats(name, seconds, kind):
    info = probe_audio(AUDIO / name)
    assert info.format == kind and info.reason is None
    assert info.duration_s == pytest.approx(seconds, abs=0.2)  # encoders pad mp3/aac by a few frames


@pytest.mark.parametrize(
    ("name", "reason"),
    [("corrupt_header.amr", "corrupt AMR frame"), ("truncated.m4a", "unreadable audio"),
     ("not_audio.mp3", "unreadable audio"), ("empty.m4a", "empty file"), ("missing.mp3", "cannot read file")],
)
def test_corrupt_audio_gives_none_with_a_reason(name, reason):
    info = probe_audio(AUDIO / name)
    assert info.duration_s is None and reason in info.reason
    assert audio_duration(AUDIO / name) is None


def test_a_cut_amr_counts_its_complete_frames(tmp_path: Path):
    data = (AUDIO / "call_1000ms.amr").read_bytes()
    cut = tmp_path / "cut.amr"
    cut.write_bytes(data[: 6 + 32 * 25 + 10])
    assert audio_duration(cut) == 0.5


def test_random_bytes_never_raise(tmp_path: Path):
    for i, head in enumerate([b"ID3", b"OggS", b"RIFF", b"\x00\x00\x00\x18ftypmp42", b"fLaC", b"#!AMR\n"]):
        path = tmp_path / f"junk{i}.bin"
        path.write_bytes(head + bytes(range(256)) * 8)
        assert probe_audio(path).duration_s is None or probe_audio(path).duration_s > 0


def test_no_transcriber_returns_none_never_a_text():
    transcriber = make_transcriber(None)
    assert isinstance(transcriber, NoTranscriber) and isinstance(transcriber, Transcriber)
    assert transcriber.transcribe(AUDIO / "call_500ms.wav") is None
    assert isinstance(make_transcriber("none"), NoTranscriber)


def test_unknown_engine_and_missing_model_dir_are_configuration_errors(tmp_path: Path):
    with pytest.raises(TranscriberConfigError, match="unknown speech engine"):
        make_transcriber("whisper")
    with pytest.raises(TranscriberConfigError, match="model directory"):
        make_transcriber("vosk")
    with pytest.raises(TranscriberConfigError, match="not found"):
        make_transcriber("vosk", tmp_path / "vosk-model-small-cn-0.22")
    with pytest.raises(TranscriberConfigError, match="does not look like a Vosk model"):
        VoskTranscriber(tmp_path)


VOSK_INSTALLED = importlib.util.find_spec("vosk") is not None


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """A directory shaped like a Vosk model but without model files."""
    (tmp_path / "am").mkdir()
    (tmp_path / "conf").mkdir()
    return tmp_path


def test_missing_vosk_package_is_a_configuration_error(model_dir: Path, monkeypatch):
    monkeypatch.setitem(sys.modules, "vosk", None)  # what Python does when the package is absent
    with pytest.raises(TranscriberConfigError, match="pip install"):
        VoskTranscriber(model_dir)


def test_a_model_vosk_cannot_load_fails_with_a_configuration_error(model_dir: Path):
    if not VOSK_INSTALLED:  # without the optional extra the same error comes at construction
        with pytest.raises(TranscriberConfigError, match="pip install"):
            VoskTranscriber(model_dir)
        return
    transcriber = VoskTranscriber(model_dir)
    with pytest.raises(TranscriberConfigError, match="could not load"):
        transcriber.transcribe(AUDIO / "call_500ms.wav")


def test_undecodable_audio_is_a_transcription_error(model_dir: Path, monkeypatch):
    if not VOSK_INSTALLED:
        monkeypatch.setitem(sys.modules, "vosk", types.ModuleType("vosk"))  # decoding runs before any vosk call
    transcriber = VoskTranscriber(model_dir, ffmpeg=None)
    with pytest.raises(TranscriptionError, match="ffmpeg"):
        transcriber.transcribe(AUDIO / "call_1500ms.mp3")
    with pytest.raises(TranscriptionError, match="no such file"):
        transcriber.transcribe(AUDIO / "missing.wav")
