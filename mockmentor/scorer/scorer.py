"""Score candidate answers with a trained scorer: `{score, low, high, off_topic, ...}` on 0–5.

One class serves training (validation), evaluation, the CLI and the voice service. It loads a
scorer folder written by `train_scorer` (or the registry's champion):

  scorer.json        what it is: the variant, the pretrained encoder, the recipes, calibration,
                     the off-topic threshold, validation figures
  encoder/           the fine-tuned bi-encoder (its lower layers are the pretrained ones)
  lexicon.skops      the TF-IDF vocabulary of the training texts
  trees_seen.skops   the gradient-boosted trees over the features, with kNN (stacker.py) ...
  trees_unseen.skops ... and without, for questions without graded answers
  detector.skops     the off-topic detector
  graded.parquet     the human-graded answers the kNN features compare with (+ graded.npy)
  questions.parquet  every known question and its reference answer, for where an answer fits
                     (+ questions.npy, and references.npy: the references' vectors)
  non_answers.npy    the non-answer anchors' vectors (features.NON_ANSWER_ANCHORS)

An answer to a question with graded answers on file (pass `question_id`) is scored with the kNN
features; any other question is scored without them, with the calibration and interval
fitted for unseen questions. Requests are validated; bad input raises pydantic's
ValidationError naming the field.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from .calibration import Calibration
from .stacker import Stacker, reasons

MAX_ANSWER_CHARS = 20_000
# skops refuses to load any type not named here (plain numbers, arrays and scikit-learn's
# estimators are trusted by default; the boosted trees' predictor is not).
TRUSTED_TYPES = ["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class ScoreRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    question: Text = Field(max_length=MAX_ANSWER_CHARS, description="the question asked")
    reference: Text = Field(max_length=MAX_ANSWER_CHARS, description="the answer a grader expects")
    answer: Text = Field(max_length=MAX_ANSWER_CHARS, description="the candidate's answer")
    question_id: str | None = Field(
        default=None, max_length=128, description="a question with graded answers on file (e.g. mohler-1.1)"
    )


class OffTopic(BaseModel):
    probability: float = Field(ge=0, le=1, description="the detector's probability that it is no answer")
    reasons: list[str] = Field(description="what gave it away, in plain words")
    question_similarity: float = Field(description="cosine of the answer to the question")
    reference_similarity: float = Field(description="cosine of the answer to the reference answer")
    new_words: int = Field(ge=0, description="content words the answer adds to the question's")


class ScoreResult(BaseModel):
    score: float = Field(ge=0, le=5, description="predicted human score")
    low: float = Field(ge=0, le=5, description="lower end of the interval")
    high: float = Field(ge=0, le=5, description="upper end of the interval")
    off_topic: bool = Field(description="the answer does not address the question (see evidence)")
    evidence: OffTopic | None = Field(default=None, description="why it was flagged, when it was")


def save_artifacts(folder: Path, **objects: Any) -> None:
    import skops.io as sio

    for name, value in objects.items():
        sio.dump(value, folder / f"{name}.skops")


def load_artifact(folder: Path, name: str) -> Any:
    import skops.io as sio

    return sio.load(folder / f"{name}.skops", trusted=TRUSTED_TYPES)


class AnswerScorer:
    """A loaded scorer; create once per process, call `score` with batches."""

    def __init__(self, model_dir: Path) -> None:
        from mockmentor.model_assets import resolve

        from .encoders import Encoders
        from .network import load_encoder

        folder = Path(model_dir)
        self.meta = json.loads((folder / "scorer.json").read_text())
        recipe = self.meta["recipe"]
        tuned, tokenizer = load_encoder(folder / "encoder")
        pretrained, _ = load_encoder(resolve(self.meta["encoder"]))
        self.encoders = Encoders(
            pretrained, tokenizer, recipe["freeze_layers"], recipe["max_length"], keep=False
        )
        self.encoders.add("tuned", tuned)
        # The encoders' caches are shared: one call at a time (a service scores from many threads).
        self._lock = threading.Lock()
        self.vectorizer = load_artifact(folder, "lexicon")
        stack = self.meta["stacker"]
        self.stacker = Stacker(
            {regime: load_artifact(folder, f"trees_{regime}") for regime in ("seen", "unseen")},
            Calibration(**stack["calibration"]),
            load_artifact(folder, "detector"),
            stack["threshold"],
        )
        from .features import GradedAnswers, QuestionSpace

        graded = pd.read_parquet(folder / "graded.parquet")
        self.graded = GradedAnswers.build(graded, np.load(folder / "graded.npy"))
        questions = pd.read_parquet(folder / "questions.parquet")
        # A scorer saved before the references were kept was fitted comparing with every one.
        references = questions["reference"] if "reference" in questions else [""] * len(questions)
        self.questions = QuestionSpace(
            questions["question"].tolist(),
            np.load(folder / "questions.npy"),
            np.load(folder / "references.npy"),
            np.load(folder / "non_answers.npy"),
            list(references),
        )

    @classmethod
    def champion(cls) -> tuple[AnswerScorer, str]:
        from mockmentor.registry import champion_dir

        folder, version = champion_dir("answer-scorer")
        return cls(folder), version

    def features(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The stacker's features for rows of (question_id, question, reference, answer)."""
        from .features import feature_frame
        from .threads import one_thread

        cosines, vectors = self.encoders.cosines(frame, "tuned")
        with one_thread():  # threads.py: the same features, without spinning against torch
            return feature_frame(frame, cosines, self.vectorizer, self.graded, vectors, self.questions)

    def prepare(self, question: str, reference: str) -> None:
        """Encode a question and its reference answer now, so that scoring an answer to it later
        encodes only the answer (the voice service calls this while the question is asked)."""
        with self._lock:
            self.encoders.keep_prompts([question.strip()], [reference.strip()], "tuned")

    def score(self, requests: Sequence[ScoreRequest | dict[str, Any]]) -> list[ScoreResult]:
        """Scores for many answers; invalid input raises pydantic's ValidationError."""
        checked = [r if isinstance(r, ScoreRequest) else ScoreRequest.model_validate(r) for r in requests]
        if not checked:
            return []
        frame = pd.DataFrame([r.model_dump() for r in checked])
        frame["question_id"] = frame["question_id"].fillna("")
        with self._lock:
            features = self.features(frame)
        scored = self.stacker.predict(features)
        return [result(row, features.iloc[i]) for i, row in enumerate(scored.itertuples())]


def result(row: Any, features: pd.Series) -> ScoreResult:
    evidence = None
    if row.off_topic:
        evidence = OffTopic(
            probability=round(float(row.off_topic_probability), 3),
            reasons=reasons(features),
            question_similarity=round(float(features["question_cosine"]), 3),
            reference_similarity=round(float(features["frozen_cosine"]), 3),
            new_words=round(float(np.expm1(features["new_words"]))),
        )
    return ScoreResult(
        score=round(float(row.score), 3),
        low=round(float(row.low), 3),
        high=round(float(row.high), 3),
        off_topic=bool(row.off_topic),
        evidence=evidence,
    )
