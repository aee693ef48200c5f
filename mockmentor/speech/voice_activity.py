"""Is the candidate speaking? Silero VAD (the ONNX model inside faster-whisper) over a live
stream, one 32 ms window at a time.

faster-whisper runs Silero over a whole clip. A live answer arrives in frames, so each frame's
new windows are judged with the last second before them as context (the model's recurrent state
warms up on it), and a hysteresis (voiced from `threshold`, silent below `threshold - 0.15`, as
faster-whisper's own segmentation does) keeps a breath from splitting a word.
"""

from __future__ import annotations

import numpy as np

WINDOW = 512  # samples per Silero window at 16 kHz: 32 ms
CONTEXT_WINDOWS = 31  # about one second of audio before the new windows


class VoiceActivity:
    def __init__(self, threshold: float = 0.5) -> None:
        from faster_whisper.vad import get_vad_model

        self.model = get_vad_model()
        self.threshold, self.release = threshold, max(threshold - 0.15, 0.01)
        self.pending = np.zeros(0, np.float32)  # the samples of a window not yet complete
        self.context = np.zeros(0, np.float32)
        self.voiced = False
        self.windows = 0  # windows judged so far
        self.last_voiced = -1  # index of the last voiced window, -1 before any speech

    def push(self, samples: np.ndarray) -> list[bool]:
        """Judge every window completed by `samples`; returns voiced/silent for each, in order."""
        audio = np.concatenate([self.pending, samples.astype(np.float32, copy=False)])
        whole = len(audio) // WINDOW * WINDOW
        self.pending = audio[whole:]
        if not whole:
            return []
        fresh = audio[:whole]
        probabilities = np.asarray(self.model(np.concatenate([self.context, fresh]))).reshape(-1)
        probabilities = probabilities[len(self.context) // WINDOW :]
        self.context = np.concatenate([self.context, fresh])[-CONTEXT_WINDOWS * WINDOW :]
        states = []
        for p in probabilities:
            if p >= self.threshold:
                self.voiced = True
            elif p < self.release:
                self.voiced = False
            if self.voiced:
                self.last_voiced = self.windows
            self.windows += 1
            states.append(self.voiced)
        return states

    @property
    def judged_samples(self) -> int:
        return self.windows * WINDOW

    @property
    def last_voiced_sample(self) -> int:
        """The end of the last voiced window (0 before any speech)."""
        return (self.last_voiced + 1) * WINDOW
