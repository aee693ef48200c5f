"""Fit the coverage rule to people's judgements, and measure it against the graders.

The written demonstrations say, for every real Mohler answer, which key points it makes (the
writers' `covered`); the graders gave each answer a score. `fit` learns the logistic rule of
mockmentor/interviewer/coverage.py on the training questions' answers: the point's similarity
to the answer and the answer's graders' score in, the writers' judgement out (classes weighted
to balance). `confusion` measures a rule on held-out questions two ways:
  - against the writers: covered or missed, point by point;
  - against the graders, as the interviewer issue defines an error: a point called missed in an
    answer the graders gave at least `full_marks`, or called covered in one they gave at most
    `wrong`.
Today's hand-set rule (cosine >= 0.6, overruled by the score at 4.5 and 2) is measured beside it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score

from mockmentor.interviewer.coverage import CoverageRule, KeyPointCoverage

from .demonstrations import Demonstration

Rule = Callable[[pd.DataFrame], np.ndarray]


def point_rows(
    demos: list[Demonstration], coverage: KeyPointCoverage, split_of: dict[str, str]
) -> pd.DataFrame:
    """One row per (graded answer, key point): similarity, the graders' score, the writer's label."""
    graded = [d for d in demos if d.score is not None]
    similarities = coverage.similarities([d.answer for d in graded], [d.key_points for d in graded])
    return pd.DataFrame(
        [
            {
                "split": split_of[d.question_id],
                "similarity": float(similarity),
                "score": d.score,
                "covered": number in d.turn.covered,
            }
            for d, row in zip(graded, similarities, strict=True)
            for number, similarity in enumerate(row, 1)
        ]
    )


def fit(rows: pd.DataFrame, encoder: str, wrong: float, seed: int) -> CoverageRule:
    model = LogisticRegression(class_weight="balanced", random_state=seed)
    model.fit(rows[["similarity", "score"]].to_numpy(), rows["covered"].to_numpy())
    w_similarity, w_score = (round(float(w), 4) for w in model.coef_[0])
    return CoverageRule(encoder, w_similarity, w_score, round(float(model.intercept_[0]), 4), wrong)


def fitted_rule(rule: CoverageRule) -> Rule:
    return lambda rows: np.array(
        [rule.probability(s, g) >= 0.5 for s, g in zip(rows["similarity"], rows["score"], strict=True)]
    )


def hand_set_rule(threshold: float = 0.6, full_marks: float = 4.5, wrong: float = 2.0) -> Rule:
    """The rule before this fit: similarity at a hand-picked threshold, the score at the extremes."""

    def covered(rows: pd.DataFrame) -> np.ndarray:
        by_similarity = rows["similarity"].to_numpy() >= threshold
        score = rows["score"].to_numpy()
        return np.where(score >= full_marks, True, np.where(score <= wrong, False, by_similarity))

    return covered


def confusion(rows: pd.DataFrame, rule: Rule, full_marks: float, wrong: float) -> dict:
    called = rule(rows)
    truth = rows["covered"].to_numpy()
    high, low = rows["score"].to_numpy() >= full_marks, rows["score"].to_numpy() <= wrong
    return {
        "points": len(rows),
        "vs_writers": {
            "balanced_accuracy": round(float(balanced_accuracy_score(truth, called)), 4),
            "covered_called_covered": int((truth & called).sum()),
            "covered_called_missed": int((truth & ~called).sum()),
            "missed_called_covered": int((~truth & called).sum()),
            "missed_called_missed": int((~truth & ~called).sum()),
        },
        "vs_graders": {
            "missed_in_full_marks_answers": f"{int((high & ~called).sum())} of {int(high.sum())}",
            "covered_in_wrong_answers": f"{int((low & called).sum())} of {int(low.sum())}",
            "error_rate": round(
                float(((high & ~called) | (low & called)).sum() / max(high.sum() + low.sum(), 1)), 4
            ),
        },
    }
