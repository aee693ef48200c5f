"""Speech to text with faster-whisper (CTranslate2, int8 on CPU), VAD and word timestamps.

Whisper's encoder is trained on 30-second windows, and faster-whisper pads every clip to one,
so a 2-second segment costs as much as a 30-second one. CTranslate2 runs the encoder on any
shorter input, so `transcribe(..., window_s=...)` hands it only that many seconds (never fewer
than the audio). How much accuracy a short window costs is measured in `make bench`
(bench/service_latency.py), which is where the live answer's floor comes from.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .delivery import Word
from .pcm import SAMPLE_RATE

# faster-whisper's default: when the greedy text looks repetitive or unsure, decode the audio
# again at each rising temperature. On the project's clips the retries made the word error rate
# no better and the tail far slower (a 10 s answer: 1.1 s greedy, 13.7 s with them), so they are
# off unless asked for; bench/transcription_settings.py measures both in one run.
FALLBACK_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


@dataclass(frozen=True)
class Transcript:
    text: str
    words: list[Word]
    language_probability: float


def _windowed_model(model_dir: Path, threads: int, compute_type: str) -> object:
    """A WhisperModel whose encoder sees only the calling thread's window (None: the full 30 s)."""
    from faster_whisper import WhisperModel

    class WindowedWhisper(WhisperModel):
        window = threading.local()  # each request's window, on the thread that decodes it

        def encode(self, features: np.ndarray):
            frames = getattr(self.window, "frames", None)
            if frames is not None:
                # generate_segments padded the mel features to 3000 frames: give the encoder
                # back only the window (frames beyond the audio are that padding's zeros).
                features = np.ascontiguousarray(features[..., :frames])
            return super().encode(features)

    return WindowedWhisper(str(model_dir), device="cpu", compute_type=compute_type, cpu_threads=threads)


class SpeechToText:
    """One Whisper model, loaded once. `beam_size` 1 is greedy: the latency-first choice;
    `fallback`: decode again at rising temperatures when the text looks repetitive (see
    FALLBACK_TEMPERATURES)."""

    def __init__(
        self,
        model_dir: Path,
        threads: int,
        beam_size: int = 1,
        compute_type: str = "int8",
        fallback: bool = False,
    ) -> None:
        self.model = _windowed_model(model_dir, threads, compute_type)
        self.beam_size = beam_size
        self.temperatures = FALLBACK_TEMPERATURES if fallback else (0.0,)

    def transcribe(
        self, audio: np.ndarray, prompt: str | None = None, window_s: float | None = None, vad: bool = True
    ) -> Transcript:
        """`prompt`: what was said before this audio (Whisper continues it: names, spelling);
        `window_s`: the encoder's window in seconds, at least the audio's length (None: 30 s)."""
        seconds = len(audio) / SAMPLE_RATE
        frames = None
        if window_s is not None and seconds < 29.0:
            frames = min(3000, 2 * int(np.ceil(max(window_s, seconds + 0.1) * 50)))  # 100 mel frames/s, even
        self.model.window.frames = frames
        try:
            segments, info = self.model.transcribe(
                audio,
                language="en",
                beam_size=self.beam_size,
                temperature=list(self.temperatures),
                vad_filter=vad,  # Silero VAD: skip silence, which also stops hallucinated text in it
                word_timestamps=True,
                condition_on_previous_text=False,
                initial_prompt=prompt or None,
            )
            words, texts = [], []
            for segment in segments:
                texts.append(segment.text.strip())
                words += [Word(w.word.strip(), float(w.start), float(w.end)) for w in segment.words or []]
        finally:
            self.model.window.frames = None
        return Transcript(" ".join(t for t in texts if t), words, float(info.language_probability))
