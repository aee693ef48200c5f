"""The stacked scorer: gradient-boosted trees over the features, calibrated out of fold, and an
off-topic detector beside it.

Training rows come twice: once with their kNN features (the question has graded answers on
file, as every Mohler question has in the service) and once without (a question the scorer
never saw, as every bank question is), so one model serves both. Calibration and intervals
are fitted on out-of-fold predictions across question groups (calibration.py).

The off-topic detector is a logistic regression on the features without kNN, trained on the
robustness set (answers that do not answer: label 1) against real student answers (label 0,
wrong ones included: a wrong attempt is still an attempt). Its threshold is the lowest whose
out-of-fold false alarms on real answers graded 2 or more stay within the recipe's budget.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pydantic.dataclasses import dataclass as config_dataclass
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mockmentor.config import STRICT

from .calibration import Calibration, fit_calibration
from .features import FEATURES, KNN_FEATURES

DETECTOR_FEATURES = [f for f in FEATURES if f not in KNN_FEATURES]
# Plain words for the evidence a flagged answer carries.
REASONS = {
    "restates the question": lambda f: f["new_words"] <= np.log1p(1) and f["question_share"] >= 0.5,
    "has no content words": lambda f: f["answer_words"] > 0 and f["new_words"] == 0,
    "is about something else": lambda f: f["frozen_cosine"] < 0.2 and f["question_cosine"] < 0.2,
}


@config_dataclass(config=STRICT)
class StackRecipe:
    max_depth: int = field(default=3, metadata={"help": "depth of each tree"})
    learning_rate: float = field(default=0.03, metadata={"help": "boosting step"})
    max_iter: int = field(default=300, metadata={"help": "trees"})
    min_samples_leaf: int = field(default=40, metadata={"help": "rows per leaf at least"})
    folds: int = field(default=5, metadata={"help": "question groups for out-of-fold calibration"})
    false_alarms: float = field(
        default=0.01, metadata={"help": "off-topic flags allowed on real answers graded 2 or more (out of fold)"}
    )
    seed: int = field(default=0, metadata={"help": "seed of the trees"})

    def __post_init__(self) -> None:
        if self.folds < 2 or not 0 < self.false_alarms < 0.5:
            raise ValueError("folds must be at least 2 and false_alarms within (0, 0.5)")


def both_regimes(features: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Every row as seen (kNN kept, where it exists) and as unseen (kNN removed)."""
    unseen = features.copy()
    unseen[KNN_FEATURES] = np.nan
    seen = features[features["knn_score"].notna()]
    stacked = pd.concat([seen, unseen])
    return stacked, np.array(["seen"] * len(seen) + ["unseen"] * len(unseen))


def regime_of(features: pd.DataFrame) -> np.ndarray:
    return np.where(features["knn_score"].notna(), "seen", "unseen")


@dataclass
class Stacker:
    model: HistGradientBoostingRegressor
    calibration: Calibration
    detector: Any  # a scikit-learn pipeline: scaler + logistic regression
    threshold: float
    diagnostics: dict = field(default_factory=dict)

    def predict(self, features: pd.DataFrame) -> pd.DataFrame:
        """score, low, high, off_topic (bool) and off_topic_probability for each row."""
        regime = regime_of(features)
        score = self.calibration.score(self.model.predict(features[FEATURES]), regime)
        low, high = self.calibration.interval(score, regime)
        probability = self.detector.predict_proba(features[DETECTOR_FEATURES])[:, 1]
        return pd.DataFrame(
            {"score": score, "low": low, "high": high, "off_topic": probability >= self.threshold,
             "off_topic_probability": probability},  # fmt: skip
            index=features.index,
        )


def reasons(row: pd.Series) -> list[str]:
    return [reason for reason, test in REASONS.items() if test(row)] or ["does not address the question"]


def _trees(recipe: StackRecipe) -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(
        max_depth=recipe.max_depth,
        learning_rate=recipe.learning_rate,
        max_iter=recipe.max_iter,
        min_samples_leaf=recipe.min_samples_leaf,
        random_state=recipe.seed,
    )


def _detector() -> Any:
    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000))


def fit_stacker(
    features: pd.DataFrame,
    human: np.ndarray,
    kind: np.ndarray,
    question: np.ndarray,
    recipe: StackRecipe,
    band_edges: list[float],
    level: float,
) -> Stacker:
    """`kind` says what each row is: "answer" (a real graded answer), "robust:<kind>" (a
    robustness row), or "augment" (reference as full marks, other-question answers as zero)."""
    rows, regime = both_regimes(features)
    index = np.concatenate([np.flatnonzero(features["knn_score"].notna()), np.arange(len(features))])
    y, groups, kinds = human[index], question[index], kind[index]
    oof = np.empty(len(rows))
    splitter = GroupKFold(n_splits=recipe.folds)
    for train, held in splitter.split(rows, y, groups):
        oof[held] = _trees(recipe).fit(rows.iloc[train], y[train]).predict(rows.iloc[held])
    calibrate = kinds != "augment"
    calibration = fit_calibration(
        oof[calibrate], y[calibrate], regime[calibrate], (kinds == "answer")[calibrate], band_edges, level
    )
    model = _trees(recipe).fit(rows, y)

    detect = kind != "augment"
    x, label = features.loc[detect, DETECTOR_FEATURES], (kind[detect] != "answer").astype(int)
    probability = np.empty(len(x))
    for train, held in splitter.split(x, label, question[detect]):
        probability[held] = _detector().fit(x.iloc[train], label[train]).predict_proba(x.iloc[held])[:, 1]
    threshold = detector_threshold(probability, label, human[detect], recipe.false_alarms)
    detector = _detector().fit(x, label)
    flagged = probability >= threshold
    diagnostics = {
        "detector_threshold": round(threshold, 4),
        "detector_oof_recall": round(float(flagged[label == 1].mean()), 4),
        "detector_oof_false_alarms_graded_2_plus": round(
            float(flagged[(label == 0) & (human[detect] >= 2)].mean()), 4
        ),
        "detector_oof_flags_on_real_answers": round(float(flagged[label == 0].mean()), 4),
    }
    return Stacker(model, calibration, detector, threshold, diagnostics)


def detector_threshold(probability: np.ndarray, label: np.ndarray, human: np.ndarray, budget: float) -> float:
    """The lowest threshold whose flags on real answers graded >= 2 stay within `budget`."""
    real = probability[(label == 0) & (human >= 2)]
    if not len(real):
        return 0.5
    # Flag only above the (1 - budget) quantile of what good real answers get, and never below 0.5.
    return float(max(0.5, np.quantile(real, 1 - budget, method="higher") + 1e-9))
