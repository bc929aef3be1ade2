"""Real, playable call-recording audio (mp3, m4a/AAC, amr, wav) made with PyAV.

The signal is speech-like: two voices taking turns, each a few harmonics with a
syllable-rate envelope, over a little line noise. Deterministic for a seed.
"""

from __future__ import annotations

import io

import av
import numpy as np

# format -> (container, codec, sample rate, bit rate)
FORMATS: dict[str, tuple[str, str, int, int | None]] = {
    "mp3": ("mp3", "libmp3lame", 16000, 32000),
    "m4a": ("ipod", "aac", 16000, 32000),
    "amr": ("amr", "libopencore_amrnb", 8000, 12200),
    "wav": ("wav", "pcm_s16le", 16000, None),
}


class AudioFormatError(ValueError):
    """An audio format we cannot produce."""


def speech_like(seconds: float, rate: int, seed: int) -> np.ndarray:
    """Mono int16 samples."""
    rng = np.random.default_rng(seed)
    n = max(1, int(seconds * rate))
    t = np.arange(n) / rate
    turn = (np.floor(t / rng.uniform(0.8, 1.6)).astype(int) % 2).astype(bool)
    pitch = np.where(turn, rng.uniform(110, 140), rng.uniform(190, 240))
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    voice = sum(np.sin(k * phase) / k for k in (1, 2, 3, 4))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(3.5, 5.0) * t) ** 2
    signal = 0.25 * voice * envelope + rng.normal(0, 0.02, n)
    return (np.clip(signal, -1, 1) * 32767).astype(np.int16)


def encode(fmt: str, seconds: float, seed: int) -> bytes:
    """A complete audio file of the given format and length."""
    if fmt not in FORMATS:
        raise AudioFormatError(f"unsupported recording format {fmt!r}; use one of {', '.join(FORMATS)}")
    container, codec, rate, bit_rate = FORMATS[fmt]
    samples = speech_like(seconds, rate, seed)
    if fmt == "wav":
        return _wav(samples, rate)
    try:
        av.codec.Codec(codec, "w")
    except av.codec.codec.UnknownCodecError as missing:
        raise AudioFormatError(f"this PyAV build ({av.__version__}) has no {codec} encoder for {fmt} recordings") from missing
    out = io.BytesIO()
    with av.open(out, "w", format=container) as box:
        stream = box.add_stream(codec, rate=rate, layout="mono")
        if bit_rate:
            stream.bit_rate = bit_rate
        frame_size = stream.codec_context.frame_size or 1024
        if len(samples) % frame_size:
            samples = np.pad(samples, (0, frame_size - len(samples) % frame_size))
        for start in range(0, len(samples), frame_size):
            frame = av.AudioFrame.from_ndarray(samples[start:start + frame_size].reshape(1, -1), format="s16",
                                               layout="mono")
            frame.sample_rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                box.mux(packet)
        for packet in stream.encode(None):
            box.mux(packet)
    return out.getvalue()


def _wav(samples: np.ndarray, rate: int) -> bytes:
    data = samples.astype("<i2").tobytes()
    header = (b"RIFF" + (36 + len(data)).to_bytes(4, "little") + b"WAVEfmt "
              + (16).to_bytes(4, "little") + (1).to_bytes(2, "little") + (1).to_bytes(2, "little")
              + rate.to_bytes(4, "little") + (rate * 2).to_bytes(4, "little") + (2).to_bytes(2, "little")
              + (16).to_bytes(2, "little") + b"data" + len(data).to_bytes(4, "little"))
    return header + data
