"""When has a hands-free candidate finished answering? Silence, read with what was said.

A fixed silence timeout cuts in on a candidate who pauses to think, and Whisper is no help: it
ends every segment it transcribes with a period, mid-sentence or not. People do signal a
thinking pause, though: they stop where the sentence cannot end ("...which we are at present
concerned"), hesitate ("um"), or say so ("let me think"). So the silence that ends an answer
depends on the words before it:

  the sentence can end here    `end_silence_s` (e.g. 1.2 s), with a visible countdown
  it cannot (a thinking pause) `hold_silence_s` (e.g. 3.5 s)
  "wait", "let me think", ...  no end by silence: the candidate asked for time, and the answer
                               ends when they speak again and stop, or press Done

"Can the sentence end here" is read by a small instruct LM (`SentenceEnd`, the packaged
SmolLM2-135M-Instruct by default): the probability that the candidate's next token ends the
sentence or the turn, given the question and the transcript with its last punctuation removed.
Its threshold is fitted on real answers cut mid-sentence against the same answers whole, held
out by question (evaluation/evaluate_end_of_turn.py), and read from the rule that stage writes.
"""

from __future__ import annotations

import json
import math
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Asked-for time: the candidate said they need a moment.
HOLD_PHRASES = (
    "wait",
    "hold on",
    "let me think",
    "let me see",
    "give me a second",
    "give me a moment",
    "one second",
    "one moment",
    "just a second",
    "just a moment",
    "let me remember",
)
_WORDS = re.compile(r"[a-z']+")
_SENTINEL = "\u2063"  # an invisible separator: where the candidate's words end in the template
ENDINGS = (".", "?", "!")
N_CTX = 512  # the question and the answer's last few hundred tokens are plenty


@dataclass(frozen=True)
class Verdict:
    required_silence_s: float | None  # None: no end by silence (the candidate asked for time)
    reason: str  # can end here | mid-sentence | asked for time | nothing said yet


def asked_for_time(text: str) -> bool:
    last = " ".join(_WORDS.findall(text.lower())[-4:])
    return any(last.endswith(phrase) for phrase in HOLD_PHRASES)


def judge(text: str, can_end: bool, end_silence_s: float, hold_silence_s: float) -> Verdict:
    """How long a silence after `text` (the transcript so far) ends the answer; `can_end`: the
    sentence-end model's verdict on it."""
    if not _WORDS.findall(text.lower()):
        return Verdict(None, "nothing said yet")
    if asked_for_time(text):
        return Verdict(None, "asked for time")
    if can_end:
        return Verdict(end_silence_s, "can end here")
    return Verdict(hold_silence_s, "mid-sentence")


def unpunctuated(text: str) -> str:
    """The transcript without its trailing punctuation (Whisper's segment-final period)."""
    return text.strip().rstrip(".?!,;: \u2026")


class SentenceEnd:
    """log P(the candidate's sentence or turn ends after `text`), from a small causal LM with a
    chat template. llama.cpp when given the GGUF (only once its preflight proved it runs on this
    CPU), keeping the chat's start in its KV cache between calls (a live answer asks after every
    segment, each time with a few more words); transformers otherwise. One call: tens of ms."""

    def __init__(self, model_dir: Path, gguf: Path | None = None, threads: int = 1) -> None:
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        ids = [self.tokenizer.encode(mark, add_special_tokens=False) for mark in ENDINGS]
        self.ends = sorted({i[0] for i in ids if len(i) == 1} | {self.tokenizer.eos_token_id})
        self.threads = threads
        self._lock = threading.Lock()
        self.backend = "transformers" if gguf is None else "llama.cpp"
        self.model = self._llama(gguf) if self.backend == "llama.cpp" else self._transformers(model_dir)

    def _llama(self, gguf: Path | None) -> object:
        import atexit

        from llama_cpp import Llama

        llama = Llama(
            str(gguf), n_ctx=N_CTX, n_threads=self.threads, n_threads_batch=self.threads, verbose=False
        )
        atexit.register(llama.close)  # its __del__ fails once the interpreter is shutting down
        return llama

    def _transformers(self, model_dir: Path) -> object:
        import torch
        from transformers import AutoModelForCausalLM

        return AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()

    def prompt(self, question: str, text: str) -> str:
        """The chat so far: the question asked, then the candidate's words left open."""
        messages = [
            {"role": "assistant", "content": question},
            {"role": "user", "content": unpunctuated(text) + _SENTINEL},
        ]
        rendered = self.tokenizer.apply_chat_template(messages, tokenize=False)
        return rendered[: rendered.index(_SENTINEL)]

    def log_probability(self, question: str, text: str) -> float:
        ids = self.tokenizer(self.prompt(question, text), add_special_tokens=False).input_ids[-(N_CTX - 1) :]
        with self._lock:
            logits = (
                self._last_logits_llama(ids) if self.backend == "llama.cpp" else self._last_logits_torch(ids)
            )
        logits = logits.astype(np.float64) - logits.max()
        log_probs = logits - np.log(np.exp(logits).sum())
        return float(np.logaddexp.reduce(log_probs[self.ends]))

    def _last_logits_llama(self, ids: list[int]) -> np.ndarray:
        import llama_cpp

        llama = self.model
        cached = llama.input_ids[: llama.n_tokens].tolist()
        common = next(
            (i for i, (a, b) in enumerate(zip(cached, ids, strict=False)) if a != b),
            min(len(cached), len(ids)),
        )
        llama.n_tokens = min(common, len(ids) - 1)  # eval() drops the cache past this point
        llama.eval(ids[llama.n_tokens :])
        return np.ctypeslib.as_array(
            llama_cpp.llama_get_logits_ith(llama.ctx, -1), shape=(llama.n_vocab(),)
        ).copy()

    def _last_logits_torch(self, ids: list[int]) -> np.ndarray:
        import torch

        previous = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            with torch.inference_mode():
                return self.model(torch.tensor([ids]), logits_to_keep=1).logits[0, -1].numpy()
        finally:
            torch.set_num_threads(previous)


@dataclass(frozen=True)
class EndOfTurnRule:
    """The fitted rule: the sentence can end where log P(end) >= threshold."""

    model: str  # a configs/models.yaml name
    threshold: float

    @classmethod
    def load(cls, path: Path) -> EndOfTurnRule:
        from mockmentor.config import ConfigError

        if not Path(path).is_file():
            raise FileNotFoundError(f"{path} is missing: run `dvc repro evaluate_end_of_turn` first")
        try:
            data = json.loads(Path(path).read_text())
            rule = cls(str(data["model"]), float(data["threshold"]))
        except (ValueError, KeyError, TypeError) as err:
            raise ConfigError(f"{path}: not an end-of-turn rule ({type(err).__name__}: {err})") from None
        if not math.isfinite(rule.threshold):
            raise ConfigError(f"{path}: threshold must be a finite log-probability")
        return rule
