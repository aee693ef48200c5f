"""Fitting the stacked scorer end to end, and writing the folder AnswerScorer loads.

  1. the lower layers of every text once (frozen.py, via encoders.Encoders)
  2. one bi-encoder per unseen-question fold, and one on everything (fitting.fold_encoders):
     every row gets an out-of-fold `bi_cosine` from a model that never saw its question
  3. the features of every fitting row (features.py), with those out-of-fold cosines
  4. the trees, their out-of-fold calibration and the off-topic detector (stacker.py)
The out-of-fold encoder features of every row are returned too: the unseen-question
evaluation scores each fold with them instead of fitting the encoders again.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from torch import nn

from .encoders import Encoders
from .features import (
    NON_ANSWER_ANCHORS,
    GradedAnswers,
    QuestionSpace,
    RowVectors,
    feature_frame,
    fit_tfidf,
)
from .fitting import ScorerRecipe, fold_encoders
from .network import load_encoder
from .scorer import save_artifacts
from .stacker import Stacker, StackRecipe, fit_stacker

ENCODER_FEATURES = ["bi_cosine", "frozen_cosine", "question_cosine", "reference_question"]


@dataclass
class FittedScorer:
    tuned: nn.Module
    tokenizer: Any
    vectorizer: Any
    graded: pd.DataFrame  # question_id, answer, score of the graded answers the kNN compares with
    graded_vectors: np.ndarray
    questions: QuestionSpace
    stacker: Stacker
    out_of_fold: pd.DataFrame  # every row: its fold and out-of-fold encoder features
    history: list

    def save(self, folder: Path, meta: dict) -> dict:
        folder.mkdir(parents=True, exist_ok=True)
        self.tuned.save_pretrained(folder / "encoder")
        self.tokenizer.save_pretrained(folder / "encoder")
        save_artifacts(
            folder,
            lexicon=self.vectorizer,
            trees_seen=self.stacker.models["seen"],
            trees_unseen=self.stacker.models["unseen"],
            detector=self.stacker.detector,
        )
        self.graded.to_parquet(folder / "graded.parquet", index=False)
        np.save(folder / "graded.npy", self.graded_vectors.astype(np.float32))
        known = {"question": self.questions.texts, "reference": self.questions.reference_texts}
        pd.DataFrame(known).to_parquet(folder / "questions.parquet", index=False)
        np.save(folder / "questions.npy", self.questions.vectors.astype(np.float32))
        np.save(folder / "references.npy", self.questions.references.astype(np.float32))
        np.save(folder / "non_answers.npy", self.questions.non_answers.astype(np.float32))
        meta = meta | {
            "stacker": {
                "calibration": asdict(self.stacker.calibration),
                "threshold": self.stacker.threshold,
                "diagnostics": self.stacker.diagnostics,
            }
        }
        (folder / "scorer.json").write_text(json.dumps(meta, indent=2) + "\n")
        return meta


def graded_answers(rows: pd.DataFrame) -> pd.DataFrame:
    """The human-graded training answers the kNN features may compare with."""
    return rows[(rows["kind"] == "answer") & (rows["split"] == "train")][["question_id", "answer", "score"]]


def stack_features(
    rows: pd.DataFrame,
    cosines: pd.DataFrame,
    vectors: RowVectors,
    vectorizer: Any,
    graded: GradedAnswers | None,
    questions: QuestionSpace,
) -> pd.DataFrame:
    encoder = cosines.loc[rows.index, ENCODER_FEATURES]
    return feature_frame(rows, encoder, vectorizer, graded, vectors.of(rows.index), questions)


def row_vectors(encoders: Encoders, rows: pd.DataFrame) -> RowVectors:
    answers, questions = encoders.text_vectors(rows)
    return RowVectors(pd.DataFrame(answers, index=rows.index), pd.DataFrame(questions, index=rows.index))


def question_space(encoders: Encoders, known: pd.DataFrame) -> QuestionSpace:
    """Every known question (the course's and the banks', `pairs.all_questions`) with its
    reference, and the non-answer anchors, for the question-fit features."""
    texts = known["question"].tolist()
    references = encoders.vectors([encoders.windows(r)[0] for r in known["reference"]])
    anchors = encoders.vectors(NON_ANSWER_ANCHORS)
    return QuestionSpace(texts, encoders.vectors(texts), references, anchors, list(known["reference"]))


def fit_stacked_scorer(
    rows: pd.DataFrame,
    fitting: pd.DataFrame,
    all_questions: pd.DataFrame,
    encoder_dir: Path,
    recipe: ScorerRecipe,
    stack: StackRecipe,
    band_edges: list[float],
    level: float,
) -> FittedScorer:
    """Fit on `fitting` (a subset of `rows`); `rows` is everything that gets out-of-fold features;
    `all_questions` every question the service may ask with its reference (where an answer fits)."""
    pretrained, tokenizer = load_encoder(encoder_dir)
    encoders = Encoders(pretrained, tokenizer, recipe.freeze_layers, recipe.max_length)
    states = encoders.lower(list(rows["reference"]) + list(rows["answer"]) + list(rows["question"]))

    def encoder_features(model: nn.Module, frame: pd.DataFrame) -> pd.DataFrame:
        encoders.add("fold", model.encoder)
        cosines, _ = encoders.cosines(frame, "fold")
        return cosines

    with tempfile.TemporaryDirectory() as work:
        out_of_fold, final, tokenizer, history = fold_encoders(
            fitting, recipe, encoder_dir, Path(work), states, encoder_features, rows
        )
    vectors, questions = row_vectors(encoders, rows), question_space(encoders, all_questions)
    trees = fit_trees(fitting, out_of_fold, vectors, questions, stack, band_edges, level)
    return FittedScorer(
        final.encoder,
        tokenizer,
        trees.vectorizer,
        trees.graded_rows,
        trees.graded_vectors,
        questions,
        trees.stacker,
        out_of_fold,
        history,
    )


@dataclass
class FittedTrees:
    vectorizer: Any
    graded_rows: pd.DataFrame
    graded_vectors: np.ndarray
    stacker: Stacker


def fit_trees(
    fitting: pd.DataFrame,
    cosines: pd.DataFrame,
    vectors: RowVectors,
    questions: QuestionSpace,
    stack: StackRecipe,
    band_edges: list[float],
    level: float,
) -> FittedTrees:
    """Everything above the encoders, fitted on `fitting` with its (out-of-fold) `cosines`: the
    TF-IDF vocabulary, the graded answers the kNN compares with, the trees, calibration and
    detector. `train_scorer` and each unseen-question fold of `evaluate_scorer` fit the same way."""
    vectorizer = fit_tfidf(pd.concat([fitting["reference"], fitting["answer"], fitting["question"]]))
    graded_rows = graded_answers(fitting)
    graded_vectors = vectors.answers.loc[graded_rows.index].to_numpy()
    graded = GradedAnswers.build(graded_rows, graded_vectors)
    features = stack_features(fitting, cosines, vectors, vectorizer, graded, questions)
    stacker = fit_stacker(
        features,
        fitting["score"].to_numpy(),
        np.where(fitting["kind"].str.startswith("robust:"), "robust", fitting["kind"]),
        fitting["question_id"].to_numpy(),
        stack,
        band_edges,
        level,
    )
    return FittedTrees(vectorizer, graded_rows, graded_vectors, stacker)
