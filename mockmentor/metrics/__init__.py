"""Metrics shared by training (validation) and evaluation, as `evaluate` modules loaded by path.

`evaluate.load("name")` would fetch from the hub; a local path works offline and still gives
each result the module's name, description and citation.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent


@cache
def load_metric(name: str) -> Any:
    """One of this folder's evaluate modules: score_agreement or interval_coverage."""
    import evaluate

    return evaluate.load(str(HERE / f"{name}.py"))


def score_agreement(
    human: np.ndarray, predicted: np.ndarray, low: np.ndarray | None = None, high: np.ndarray | None = None
) -> dict[str, float | None]:
    """Pearson, Spearman, RMSE, QWK and (when intervals are given) their empirical coverage."""
    human, predicted = np.asarray(human, float), np.asarray(predicted, float)
    result = load_metric("score_agreement").compute(predictions=predicted, references=human)
    coverage = None
    if low is not None and high is not None:
        low, high = np.asarray(low, float), np.asarray(high, float)
        coverage = load_metric("interval_coverage").compute(references=human, low=low, high=high)["coverage"]
    return {k: result[k] for k in ("pearson", "spearman", "rmse", "qwk")} | {
        "coverage80": coverage,
        "n": result["n"],
    }
