"""What the benches and the tests share: the real speech clips and audio encoding (plain 16-bit
WAV files are mockmentor.speech.pcm.wav_bytes).

The service process itself is started by mockmentor.serving.process (start_service); the
fault drills in fault_drills.py are run by the tests as they are by `make faults`.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from mockmentor.speech.synthesis import PiperTextToSpeech

REPO = Path(__file__).resolve().parent.parent
SPEECH = REPO / "data" / "raw" / "speech"
CLIP = SPEECH / "LJ001-0001.wav"


def speakable_answers() -> pd.DataFrame:
    """The real Mohler student answers of 8-40 words, in the records' order: what the benches
    speak with Piper (a shorter one is a fragment, a longer one more than a spoken answer)."""
    answers = pd.read_parquet(REPO / "data/processed/answers.parquet")
    words = answers["text"].str.split().str.len()
    return answers[(words >= 8) & (words <= 40)]


def candidate_voice(threads: int) -> PiperTextToSpeech:
    """The Piper voice that speaks the student answers, the same audio in every run: Piper draws
    its noise inside its ONNX graph, from onnxruntime's seed when the session is made."""
    import onnxruntime

    from mockmentor.model_assets import resolve
    from mockmentor.speech.synthesis import PiperTextToSpeech

    onnxruntime.set_seed(0)
    return PiperTextToSpeech(resolve("piper-voice"), threads=threads)


def transcripts() -> dict[str, str]:
    """file name -> what is said in it (data/raw/speech/transcripts.tsv, header skipped)."""
    rows = (SPEECH / "transcripts.tsv").read_text().splitlines()[1:]
    return dict(line.split("\t", 1) for line in rows if "\t" in line)


def encoded(samples: np.ndarray, container: str, codec: str, rate: int = 16_000) -> bytes:
    """16 kHz float samples encoded the way browsers and phones send them (webm/opus, mp3, ...)."""
    import av

    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        resampler = av.AudioResampler(format=stream.codec_context.format.name, layout="mono", rate=rate)
        frame = av.AudioFrame.from_ndarray(
            (np.clip(samples, -1, 1) * 32767).astype(np.int16)[None, :], format="s16", layout="mono"
        )
        frame.sample_rate = 16_000
        for piece in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(piece):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()


def pcm(clip: bytes) -> np.ndarray:
    """Any audio file's bytes as 16 kHz mono float32, as the service decodes an upload (no limits)."""
    from mockmentor.serving.audio_input import AudioLimits, decode_answer

    return decode_answer(clip, AudioLimits(10**9, 3600, 0.1, 0.0))


def decoded(name: str) -> np.ndarray:
    """A clip of data/raw/speech as 16 kHz mono float32."""
    return pcm((SPEECH / name).read_bytes())


def plain(text: str) -> str:
    """Lower case, punctuation dropped, single spaces: text as a transcript is compared. An apostrophe
    joins its word ("differ's" is one word, as Whisper may hear "differs"), other marks part words."""
    return " ".join(re.sub(r"[^a-z0-9 ]+", " ", re.sub("['\u2019]", "", text.lower())).split())


def with_thinking_pause(
    audio: np.ndarray, word_ends: list[float], pause_s: float
) -> tuple[np.ndarray, float]:
    """`audio` with `pause_s` of silence after the first word to end past its middle (mid-sentence,
    where a candidate stops to think); `word_ends` are Whisper's word end times. Returns the audio
    and where the pause starts, in seconds."""
    cut = next(end for end in word_ends if end > len(audio) / 16_000 / 2)
    at = int(cut * 16_000)
    return np.concatenate([audio[:at], np.zeros(int(pause_s * 16_000), np.float32), audio[at:]]), cut
