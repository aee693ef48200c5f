"""Answer uploads in every accepted container decode to the same 16 kHz audio; others are refused."""

from __future__ import annotations

from http import HTTPStatus

import numpy as np
import pytest
from conftest import SPEECH
from harness import encoded

from mockmentor.serving.audio_input import SAMPLE_RATE, AudioLimits, AudioRejected, decode_answer

LIMITS = AudioLimits(max_bytes=10_000_000, max_seconds=60, min_seconds=0.3, silence_rms=0.001)
CLIP = SPEECH / "LJ001-0001.wav"


def encode(container: str, codec: str) -> bytes:
    """The recorded clip re-encoded the way browsers and phones send it."""
    source = decode_answer(CLIP.read_bytes(), LIMITS)
    return encoded(source, container, codec, 48_000 if codec in ("libopus", "opus") else SAMPLE_RATE)


@pytest.mark.parametrize(
    ("container", "codec"), [("webm", "libopus"), ("ogg", "libopus"), ("mp3", "libmp3lame"), ("flac", "flac")]
)
def test_every_accepted_container_decodes(container: str, codec: str) -> None:
    reference = decode_answer(CLIP.read_bytes(), LIMITS)
    decoded = decode_answer(encode(container, codec), LIMITS)
    assert abs(len(decoded) - len(reference)) / SAMPLE_RATE < 0.1  # same duration within 0.1 s
    assert np.sqrt(np.mean(decoded**2)) == pytest.approx(np.sqrt(np.mean(reference**2)), rel=0.2)


def test_a_file_claiming_hours_costs_no_more_than_the_limit() -> None:
    header = bytearray(CLIP.read_bytes()[:44])
    header[40:44] = (8 * 3600 * 22050 * 2).to_bytes(4, "little")  # data chunk claims 8 hours
    with pytest.raises(AudioRejected) as refused:
        decode_answer(bytes(header) + CLIP.read_bytes()[44:], AudioLimits(10_000_000, 5, 0.3, 0.001))
    assert refused.value.status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE


def test_zero_sample_wav_is_refused() -> None:
    header = bytearray(CLIP.read_bytes()[:44])
    header[40:44] = (0).to_bytes(4, "little")
    with pytest.raises(AudioRejected) as refused:
        decode_answer(bytes(header), LIMITS)
    assert refused.value.status == HTTPStatus.UNPROCESSABLE_ENTITY
