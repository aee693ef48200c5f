"""Uploaded answers as 16 kHz mono float32, or an `AudioRejected` saying what is wrong.

Browsers send webm/opus (MediaRecorder); people also upload wav, flac, mp3 and ogg. The
container is recognised by its magic bytes (a declared content type proves nothing), and
decoding stops as soon as the audio passes the duration limit, so a file that claims
hours (or a decompression bomb) costs no more than the limit.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from http import HTTPStatus

import numpy as np

from mockmentor.speech.pcm import SAMPLE_RATE

from .refusal import RequestRefused

# First bytes of each accepted container.
MAGIC = {
    b"RIFF": "wav",
    b"fLaC": "flac",
    b"OggS": "ogg",
    b"\x1a\x45\xdf\xa3": "webm",
    b"ID3": "mp3",
    b"\xff\xfb": "mp3",
    b"\xff\xf3": "mp3",
    b"\xff\xf2": "mp3",
}


class AudioRejected(RequestRefused):
    """An upload that is not usable audio (empty, silent, corrupt, too long, not audio)."""


@dataclass(frozen=True)
class AudioLimits:
    max_bytes: int
    max_seconds: float
    min_seconds: float
    silence_rms: float  # below this root-mean-square level the recording is treated as silent


def container_of(head: bytes) -> str | None:
    return next((name for magic, name in MAGIC.items() if head.startswith(magic)), None)


def decode_answer(data: bytes, limits: AudioLimits) -> np.ndarray:
    import av

    if not data:
        raise AudioRejected(HTTPStatus.UNPROCESSABLE_ENTITY, "the audio upload is empty")
    if len(data) > limits.max_bytes:
        raise AudioRejected(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            f"the audio is {len(data) / 1e6:.1f} MB, over the limit of {limits.max_bytes / 1e6:.1f} MB",
        )
    if container_of(data[:4]) is None:
        raise AudioRejected(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "the upload is not a recognised audio file (expected webm/opus, ogg, wav, flac or mp3)",
        )
    limit = int(limits.max_seconds * SAMPLE_RATE)
    chunks, total = [], 0
    try:
        with av.open(io.BytesIO(data), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioRejected(HTTPStatus.UNPROCESSABLE_ENTITY, "the file has no audio stream")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    samples = out.to_ndarray().reshape(-1)
                    chunks.append(samples)
                    total += len(samples)
                if total > limit:
                    raise AudioRejected(
                        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                        f"the recording is longer than the limit of {limits.max_seconds:.0f} s",
                    )
    except AudioRejected:
        raise
    except (av.FFmpegError, ValueError, IndexError, EOFError, OSError) as err:
        raise AudioRejected(
            HTTPStatus.UNPROCESSABLE_ENTITY, f"the audio could not be decoded (corrupt or truncated): {err}"
        ) from None
    audio = (np.concatenate(chunks) if chunks else np.zeros(0, np.int16)).astype(np.float32) / 32768.0
    seconds = len(audio) / SAMPLE_RATE
    if seconds < limits.min_seconds:
        raise AudioRejected(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            f"the recording is {seconds:.2f} s long; speak for at least {limits.min_seconds:.1f} s",
        )
    if float(np.sqrt(np.mean(audio**2))) < limits.silence_rms:
        raise AudioRejected(HTTPStatus.UNPROCESSABLE_ENTITY, "the recording is silent; check the microphone")
    return audio
