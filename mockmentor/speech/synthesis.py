"""Text to speech behind one small interface, so engines can be swapped in configs/serving.yaml.

Only Piper ships: it is the engine that has been run here (the design also names Coqui
`TTS`, but no Coqui weights are installable on this machine and its torchaudio does not
build beside torch 2.13, so that engine is not offered). Replies are synthesised sentence
by sentence; each sentence becomes one small WAV the page can play while the next is made.

Piper's time grows with the words it speaks (about 30 ms a word on 2 cores, after a fixed
~70 ms), so the first sound of a reply comes sooner when its first sentence is spoken in two
parts: `speech_parts` splits off the opening clause, which plays while the rest is made.
"""

from __future__ import annotations

import io
import re
import threading
import wave
from pathlib import Path
from typing import Protocol


class TextToSpeech(Protocol):
    sample_rate: int

    def wav(self, sentence: str) -> bytes:
        """One sentence as a complete 16-bit mono WAV file."""
        ...


class PiperTextToSpeech:
    def __init__(self, voice_dir: Path, threads: int, length_scale: float = 1.0) -> None:
        import onnxruntime
        from piper import PiperVoice
        from piper.config import SynthesisConfig

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.voice = PiperVoice.load(voice_dir / "voice.onnx", voice_dir / "voice.onnx.json")
        # PiperVoice.load builds its own session; rebuild it with our thread count.
        self.voice.session = onnxruntime.InferenceSession(
            str(voice_dir / "voice.onnx"), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.config = SynthesisConfig(length_scale=length_scale)
        self.sample_rate: int = self.voice.config.sample_rate
        self._lock = threading.Lock()

    def wav(self, sentence: str) -> bytes:
        buffer = io.BytesIO()
        with self._lock, wave.open(buffer, "wb") as out:
            self.voice.synthesize_wav(sentence, out, syn_config=self.config)
        return buffer.getvalue()


ENGINES = {"piper": PiperTextToSpeech}

# A word ending a clause: comma, semicolon, colon, dash; the reply guard's opening clause ends at the
# same marks (mockmentor/interviewer/guard.py CLAUSE_END: model packages never import each other).
_CLAUSE_END = re.compile(r"[,;:\u2013\u2014]$")
_MIN_REST_WORDS = 3


def speech_parts(sentence: str, min_words: int) -> list[str]:
    """`sentence` as the parts to synthesise: its opening clause first, when that clause has at
    least `min_words` words and at least three follow it; else the sentence whole (also when
    `min_words` is 0). The parts, joined by a space, say the sentence's words."""
    words = sentence.split()
    if min_words > 0:
        for n in range(min_words, len(words) - _MIN_REST_WORDS + 1):
            if _CLAUSE_END.search(words[n - 1]):
                return [" ".join(words[:n]), " ".join(words[n:])]
    return [sentence]
