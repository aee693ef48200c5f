"""The stacker's off-topic detector: what its fit weighs (fast; the scorer on real data is in
test_scorer.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from mockmentor.scorer import stacker
from mockmentor.scorer.features import FEATURES, KNN_FEATURES
from mockmentor.scorer.stacker import StackRecipe, fit_stacker


@pytest.mark.parametrize("grade_weight", [0.0, 1.0, 2.5])
def test_the_detector_weighs_a_real_answer_by_its_grade(
    grade_weight: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flag zeroes an answer, so a good answer wrongly flagged costs the most: each real answer
    weighs 1 + grade_weight x its grade in the detector's fit, a robustness row 1, and the
    augmentation rows are not the detector's at all."""
    weights: list[np.ndarray] = []

    class Recording(HistGradientBoostingClassifier):
        def fit(self, x: pd.DataFrame, y: np.ndarray, sample_weight: np.ndarray | None = None):  # type: ignore[override]
            weights.append(np.asarray(sample_weight))
            return super().fit(x, y, sample_weight=sample_weight)

    monkeypatch.setattr(stacker, "_detector", lambda recipe: Recording(**stacker._boosting(recipe)))
    rng = np.random.default_rng(0)
    kind = np.array(["answer"] * 90 + ["robust:keyword_list"] * 30 + ["augment"] * 12)
    human = np.where(kind == "answer", rng.choice(np.arange(0, 5.5, 0.5), len(kind)), 0.0)
    features = pd.DataFrame(rng.normal(size=(len(kind), len(FEATURES))), columns=FEATURES)
    features.loc[::2, KNN_FEATURES] = np.nan  # both regimes
    question = np.arange(len(kind)) % 6
    recipe = StackRecipe(max_iter=5, min_samples_leaf=5, folds=3, detector_grade_weight=grade_weight)

    fit_stacker(features, human, kind, question, recipe, band_edges=[3.0, 4.25], level=0.8)

    detected = kind != "augment"
    expected = np.where(kind[detected] == "answer", 1 + grade_weight * human[detected], 1.0)
    assert len(weights) == recipe.folds + 1  # out of fold for the threshold, then the whole set
    np.testing.assert_allclose(weights[-1], expected)
    assert sum(len(w) for w in weights[:-1]) == (recipe.folds - 1) * detected.sum()


def test_a_negative_grade_weight_is_refused() -> None:
    with pytest.raises(ValueError, match="detector_grade_weight"):
        StackRecipe(detector_grade_weight=-1.0)
