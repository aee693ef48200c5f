"""Agreement between predicted and human scores on the 0–5 scale.

Quadratic weighted kappa needs categories, so scores are rounded to the nearest 0.5 (the
graders' own granularity) before it is computed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import cohen_kappa_score, root_mean_squared_error


def half_points(scores: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(scores, 0, 5) * 2).astype(int)


def agreement(
    human: np.ndarray, predicted: np.ndarray, low: np.ndarray | None = None, high: np.ndarray | None = None
) -> dict[str, float | None]:
    """Pearson, Spearman, RMSE, QWK and (when intervals are given) their empirical coverage."""
    human, predicted = np.asarray(human, float), np.asarray(predicted, float)
    coverage = None
    if low is not None and high is not None:
        coverage = round(float(np.mean((human >= low) & (human <= high))), 4)
    return {
        "pearson": round(float(pearsonr(human, predicted)[0]), 4),
        "spearman": round(float(spearmanr(human, predicted)[0]), 4),
        "rmse": round(float(root_mean_squared_error(human, predicted)), 4),
        "qwk": round(
            float(cohen_kappa_score(half_points(human), half_points(predicted), weights="quadratic")), 4
        ),
        "coverage80": coverage,
        "n": len(human),
    }


def per_question_pearson(frame: pd.DataFrame, column: str) -> pd.Series:
    """Pearson r within each question (NaN where a question's human scores are all equal)."""

    def within(group: pd.DataFrame) -> float:
        if group["score"].nunique() < 2 or group[column].nunique() < 2:
            return float("nan")
        return float(pearsonr(group["score"], group[column])[0])

    return frame.groupby("question_id")[["score", column]].apply(within)
