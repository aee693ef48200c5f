"""Sentence vectors for the scorer's features: the pretrained encoder and fine-tuned copies of it.

Every copy shares the pretrained embeddings and lower layers (they are frozen while fitting),
so a text's lower states are computed once (frozen.lower_states) and each encoder runs only its
own top layers on them: the pretrained top for `frozen_cosine`, a fine-tuned top for
`bi_cosine`. Answers longer than the window are split into half-overlapping windows and get
their best window's cosine, so content counts wherever it appears.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from .frozen import LowerStates, lower_states, mean_pool, run_top

WINDOW_STRIDE = 0.5
KEPT_PROMPTS = 20_000  # question and reference vectors a service keeps between calls, at most


class Encoders:
    def __init__(
        self, pretrained: nn.Module, tokenizer: Any, frozen_layers: int, max_length: int, keep: bool = True
    ) -> None:
        """`keep`: remember every text's states and vectors (fitting and evaluation). A service
        keeps only the vectors of questions and reference answers between calls (they come from
        its question banks, and every turn on a question repeats them, up to KEPT_PROMPTS), so
        its memory does not grow with the answers it hears."""
        self.pretrained, self.tokenizer, self.keep = pretrained.eval(), tokenizer, keep
        self.frozen_layers, self.max_length = frozen_layers, max_length
        self.encoders: dict[str, nn.Module] = {"pretrained": self.pretrained}
        self._lower: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self._vectors: dict[tuple[str, str], np.ndarray] = {}  # (encoder name, text) -> unit vector
        self._prompts: set[str] = set()  # the questions and references whose vectors a service keeps

    def add(self, name: str, encoder: nn.Module) -> None:
        """A fine-tuned copy (same frozen lower layers), known by `name` from now on."""
        self.encoders[name] = encoder.eval()
        self._vectors = {k: v for k, v in self._vectors.items() if k[0] != name}

    def windows(self, text: str) -> list[str]:
        """The text, or its half-overlapping windows when it is longer than one input."""
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        size = self.max_length - 2
        if len(ids) <= size:
            return [text]
        step = max(1, int(size * WINDOW_STRIDE))
        return [
            self.tokenizer.decode(ids[start : start + size])
            for start in range(0, len(ids) - size + step, step)
        ]

    def lower(self, texts: Sequence[str]) -> LowerStates:
        """Lower states of `texts`, computing only those not seen before."""
        new = [t for t in dict.fromkeys(texts) if t not in self._lower]
        if new:
            states = lower_states(self.pretrained, self.tokenizer, new, self.frozen_layers, self.max_length)
            for text, row in states.index.items():
                self._lower[str(text)] = (states.hidden[row], states.mask[row])
        distinct = list(dict.fromkeys(texts))
        hidden = torch.stack([self._lower[t][0] for t in distinct]) if distinct else torch.zeros(0)
        mask = torch.stack([self._lower[t][1] for t in distinct]) if distinct else torch.zeros(0)
        return LowerStates(hidden, mask, self.frozen_layers, {t: i for i, t in enumerate(distinct)})

    @torch.inference_mode()
    def vectors(self, texts: Sequence[str], name: str = "pretrained", batch_size: int = 16) -> np.ndarray:
        """Unit vectors of `texts` from the top layers of the encoder called `name`."""
        encoder, key = self.encoders[name], name
        missing = [t for t in dict.fromkeys(texts) if (key, t) not in self._vectors]
        if missing:
            states = self.lower(missing)
            order = torch.argsort(states.mask.sum(1), stable=True)  # batches of similar lengths
            for start in range(0, len(missing), batch_size):
                rows = order[start : start + batch_size]
                hidden, mask = states.on(rows, torch.device("cpu"))
                pooled = mean_pool(run_top(encoder, hidden, mask, self.frozen_layers), mask)
                pooled = nn.functional.normalize(pooled.float(), dim=-1).numpy()
                for row, vector in zip(rows.tolist(), pooled, strict=True):
                    self._vectors[(key, missing[row])] = vector
        return np.stack([self._vectors[(key, t)] for t in texts]) if texts else np.zeros((0, 1))

    def keep_prompts(self, questions: Sequence[str], references: Sequence[str], tuned: str) -> None:
        """Compute and keep the vectors `cosines` needs of these questions and references, ahead of
        the answers to them (a service does this while the question is asked)."""
        self.vectors([*references, *questions])
        self.vectors(list(references), tuned)
        self._forget_all_but({*questions, *references}, set())

    def _forget_all_but(self, prompts: set[str], answers: set[str]) -> None:
        """A service (`keep` off) keeps only question and reference vectors between calls, up to
        KEPT_PROMPTS: the lower states and the answers' vectors are dropped."""
        if self.keep:
            return
        self._lower.clear()
        self._prompts |= prompts
        for text in answers - self._prompts:
            for name in self.encoders:
                self._vectors.pop((name, text), None)
        if len(self._prompts) > KEPT_PROMPTS:
            self._prompts.clear()
            self._vectors.clear()

    def text_vectors(self, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Each answer's pretrained unit vector (its first window) and its question's: what the kNN
        and question-fit features compare."""
        return self.vectors([self.windows(a)[0] for a in rows["answer"]]), self.vectors(
            list(rows["question"])
        )

    def cosines(self, rows: pd.DataFrame, tuned: str) -> tuple[pd.DataFrame, tuple[np.ndarray, np.ndarray]]:
        """The encoder features of `rows` (question, reference, answer), with the fine-tuned encoder
        called `tuned`, and the answers' and questions' pretrained unit vectors (text_vectors)."""
        windows = [self.windows(a) for a in rows["answer"]]
        flat = [w for ws in windows for w in ws]
        owner = np.repeat(np.arange(len(rows)), [len(ws) for ws in windows])
        wanted = {
            "pretrained": [*rows["reference"], *rows["question"], *flat],
            tuned: [*rows["reference"], *flat],
        }
        self.lower([t for name, texts in wanted.items() for t in texts if (name, t) not in self._vectors])
        frozen_ref, frozen_question = (
            self.vectors(list(rows["reference"])),
            self.vectors(list(rows["question"])),
        )
        frozen_win, tuned_win = self.vectors(flat), self.vectors(flat, tuned)
        tuned_ref = self.vectors(list(rows["reference"]), tuned)

        def best(values: np.ndarray) -> np.ndarray:
            return pd.Series(values).groupby(owner).max().to_numpy()

        frame = pd.DataFrame(
            {
                "bi_cosine": best(np.sum(tuned_ref[owner] * tuned_win, axis=1)),
                "frozen_cosine": best(np.sum(frozen_ref[owner] * frozen_win, axis=1)),
                "question_cosine": best(np.sum(frozen_question[owner] * frozen_win, axis=1)),
                "reference_question": np.sum(frozen_ref * frozen_question, axis=1),
            },
            index=rows.index,
        )
        first = np.searchsorted(owner, np.arange(len(rows)))
        vectors = (frozen_win[first], frozen_question)
        self._forget_all_but(set(rows["reference"]) | set(rows["question"]), set(flat))
        return frame, vectors
