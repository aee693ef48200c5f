"""Text to speech behind one small interface, so engines can be swapped in configs/serving.yaml.

Only Piper ships: it is the engine that has been run here (the design also names Coqui
`TTS`, but no Coqui weights are installable on this machine and its torchaudio does not
build beside torch 2.13, so that engine is not offered). Replies are synthesised sentence
by sentence; each sentence becomes one small WAV the page can play while the next is made.
"""

from __future__ import annotations

import io
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
