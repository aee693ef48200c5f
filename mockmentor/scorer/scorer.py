"""Score candidate answers with a trained scorer: `{score, low, high}` on the 0–5 scale.

One class serves training (calibration), evaluation, the CLI and the voice service. It
loads a scorer folder written by `train_scorer` (or the registry's champion), batches
requests by length so padding stays small, maps raw model outputs to the score scale with
the fitted calibration, and attaches the split-conformal interval of the predicted score's
band. Answers longer than the encoder's window are scored window by window and get the
score of their best window, so content is credited wherever it appears.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from .calibration import Calibration

MAX_ANSWER_CHARS = 20_000
WINDOW_STRIDE = 0.5  # windows of a long answer overlap by half

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class ScoreRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    reference: Text = Field(max_length=MAX_ANSWER_CHARS, description="the answer a grader expects")
    answer: Text = Field(max_length=MAX_ANSWER_CHARS, description="the candidate's answer")


class ScoreResult(BaseModel):
    score: float = Field(ge=0, le=5, description="predicted human score")
    low: float = Field(ge=0, le=5, description="lower end of the interval")
    high: float = Field(ge=0, le=5, description="upper end of the interval")


def quantize_lower_layers(model: Any, layers: int) -> Any:
    """Dynamic int8 for the encoder's lowest `layers` layers (measured in bench/): the lower
    layers tolerate int8 well, the top layers carry the fine-tuned scoring and stay fp32."""
    import torch

    stack = model.encoder.encoder.layer
    for index in range(min(layers, len(stack))):
        stack[index] = torch.ao.quantization.quantize_dynamic(
            stack[index], {torch.nn.Linear}, dtype=torch.qint8
        )
    return model


class AnswerScorer:
    """A loaded scorer; create once per process, call `score` with batches."""

    def __init__(self, model_dir: Path, int8_layers: int = 0) -> None:
        from .network import load

        meta = json.loads((Path(model_dir) / "scorer.json").read_text())
        self.architecture: str = meta["recipe"]["architecture"]
        self.max_length: int = meta["recipe"]["max_length"]
        self.calibration = Calibration(**meta["calibration"])
        self.model, self.tokenizer = load(Path(model_dir), self.architecture)
        if int8_layers:
            self.model = quantize_lower_layers(self.model, int8_layers)

    @classmethod
    def champion(cls, int8_layers: int = 0) -> tuple[AnswerScorer, str]:
        from mockmentor.registry import champion_dir

        folder, version = champion_dir("answer-scorer")
        return cls(folder, int8_layers=int8_layers), version

    def raw(self, frame: pd.DataFrame, batch_size: int = 32) -> np.ndarray:
        from .network import predict_raw

        return predict_raw(self.model, self.tokenizer, frame, self.architecture, self.max_length, batch_size)

    def _windows(self, answer: str) -> list[str]:
        ids = self.tokenizer(answer, add_special_tokens=False)["input_ids"]
        size = self.max_length // 2 if self.architecture == "cross" else self.max_length - 2
        if len(ids) <= size:
            return [answer]
        step = max(1, int(size * WINDOW_STRIDE))
        return [
            self.tokenizer.decode(ids[start : start + size])
            for start in range(0, len(ids) - size + step, step)
        ]

    def score(
        self, requests: Sequence[ScoreRequest | dict[str, Any]], batch_size: int = 32
    ) -> list[ScoreResult]:
        """Scores for many (reference, answer) pairs; invalid input raises pydantic's ValidationError."""
        checked = [
            item if isinstance(item, ScoreRequest) else ScoreRequest.model_validate(item) for item in requests
        ]
        if not checked:
            return []
        rows = [
            (index, item.reference, window)
            for index, item in enumerate(checked)
            for window in self._windows(item.answer)
        ]
        frame = pd.DataFrame(rows, columns=["request", "reference", "answer"])
        frame["raw"] = self.raw(frame, batch_size)
        raw = frame.groupby("request")["raw"].max().to_numpy()
        score = self.calibration.score(raw)
        low, high = self.calibration.interval(score)
        return [
            ScoreResult(score=round(float(s), 3), low=round(float(lo), 3), high=round(float(hi), 3))
            for s, lo, hi in zip(score, low, high, strict=True)
        ]
