"""Speech to text with faster-whisper (CTranslate2, int8 on CPU), VAD and word timestamps."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .delivery import Word


@dataclass(frozen=True)
class Transcript:
    text: str
    words: list[Word]
    language_probability: float


class SpeechToText:
    """One Whisper model, loaded once. `beam_size` 1 is greedy: the latency-first choice."""

    def __init__(self, model_dir: Path, threads: int, beam_size: int = 1, compute_type: str = "int8") -> None:
        from faster_whisper import WhisperModel

        self.model = WhisperModel(
            str(model_dir), device="cpu", compute_type=compute_type, cpu_threads=threads
        )
        self.beam_size = beam_size

    def transcribe(self, audio: np.ndarray) -> Transcript:
        segments, info = self.model.transcribe(
            audio,
            language="en",
            beam_size=self.beam_size,
            vad_filter=True,  # Silero VAD: skip silence, which also stops hallucinated text in it
            word_timestamps=True,
            condition_on_previous_text=False,
        )
        words, texts = [], []
        for segment in segments:
            texts.append(segment.text.strip())
            words += [Word(w.word.strip(), float(w.start), float(w.end)) for w in segment.words or []]
        return Transcript(" ".join(t for t in texts if t), words, float(info.language_probability))
