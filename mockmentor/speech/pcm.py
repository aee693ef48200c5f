"""The audio every speech step works on: 16 kHz mono float32 in [-1, 1] (Whisper's input, Silero's
windows, the live socket's frames), and its 16-bit WAV form (what keep_audio stores)."""

from __future__ import annotations

import io
import wave

import numpy as np

SAMPLE_RATE = 16_000


def wav_bytes(samples: np.ndarray, rate: int = SAMPLE_RATE) -> bytes:
    """Float samples in [-1, 1] as a 16-bit mono WAV file."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return buffer.getvalue()
