"""The stacked scorer: gradient-boosted trees over the features, calibrated out of fold, and an
off-topic detector beside it.

Two sets of trees share the rows: one reads the kNN features (the question has graded answers
on file, as every Mohler question has in the service), one does without them (a question the
scorer never saw, as every bank question is). One model for both spent its splits on the kNN
features and scored new questions worse than the bi-encoder alone. Calibration and intervals
are fitted on out-of-fold predictions across question groups (calibration.py), per regime.

The robustness rows (answers that do not answer, graded zero) and the augmentation rows join
the score's training with a small weight: enough to pull the ends of the scale into place,
not so much that they crowd out the real answers (at full weight they cost 0.05 of Pearson r
on unseen questions).

The off-topic detector is a second set of boosted trees on the features without kNN, trained
on the robustness set (label 1) against real student answers (label 0, wrong ones included: a
wrong attempt is still an attempt). A flagged answer is not scored as an answer: it gets 0, with
the reasons as evidence, so a false alarm costs a real answer its whole grade. The detector
therefore weighs each real answer by 1 + grade_weight x its human grade: a good answer wrongly
flagged costs the most, and the trees learn to keep away from the terse right answers ("pop and
push", "Static and dynamic.") that look like a keyword list. Its threshold is the lowest whose
out-of-fold false alarms on real answers graded 2 or more stay within the recipe's budget.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pydantic.dataclasses import dataclass as config_dataclass
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.model_selection import GroupKFold

from mockmentor.config import STRICT

from .calibration import Calibration, fit_calibration
from .features import FEATURES, KNN_FEATURES
from .threads import one_thread

# beyond_recall helps the score on unseen questions (UQ r +0.013) but not the detector: a keyword
# list lifted from the reference has as much of it as a right answer, and with it the detector
# let more lists through (37.5 % of them scored 2 or more, against 26.4 %).
DETECTOR_FEATURES = [f for f in FEATURES if f not in KNN_FEATURES and f != "beyond_recall"]
# Plain words for the evidence a flagged answer carries.
REASONS = {
    "restates the question": lambda f: f["new_words"] <= np.log1p(1) and f["question_share"] >= 0.5,
    "has no content words": lambda f: f["answer_words"] > 0 and f["new_words"] == 0,
    "says it has no answer": lambda f: f["non_answer_similarity"] >= 0.6,
    "is about something else": lambda f: f["frozen_cosine"] < 0.2 and f["question_cosine"] < 0.2,
    "lists keywords without saying how they relate": lambda f: (
        f["stop_share"] <= 0.15 and f["reference_recall"] >= 0.3
    ),
    "fits another question better": lambda f: f["other_question_gap"] > 0.05,
    "answers another question": lambda f: f["other_reference_gap"] > 0.05,
    "is mostly filler words": lambda f: f["filler_share"] >= 0.8,
}


@config_dataclass(config=STRICT)
class StackRecipe:
    max_depth: int = field(default=3, metadata={"help": "depth of each tree"})
    learning_rate: float = field(default=0.03, metadata={"help": "boosting step"})
    max_iter: int = field(default=300, metadata={"help": "trees"})
    min_samples_leaf: int = field(default=40, metadata={"help": "rows per leaf at least"})
    non_answer_weight: float = field(
        default=0.05,
        metadata={"help": "weight of a robustness or augmentation row in the score's fit (answer: 1)"},
    )
    folds: int = field(default=5, metadata={"help": "question groups for out-of-fold calibration"})
    false_alarms: float = field(
        default=0.005,
        metadata={"help": "off-topic flags allowed on real answers graded 2 or more (out of fold)"},
    )
    detector_grade_weight: float = field(
        default=1.0,
        metadata={"help": "a real answer's weight in the detector's fit is 1 + this x its grade"},
    )
    seed: int = field(default=0, metadata={"help": "seed of the trees"})

    def __post_init__(self) -> None:
        if self.folds < 2 or not 0 < self.false_alarms < 0.5:
            raise ValueError("folds must be at least 2 and false_alarms within (0, 0.5)")
        if self.detector_grade_weight < 0:
            raise ValueError("detector_grade_weight must not be negative")
        if not 0 <= self.non_answer_weight <= 1:
            raise ValueError("non_answer_weight must be within [0, 1]")


UNSEEN_FEATURES = [f for f in FEATURES if f not in KNN_FEATURES]


def regime_of(features: pd.DataFrame) -> np.ndarray:
    return np.where(features["knn_score"].notna(), "seen", "unseen")


@dataclass
class Stacker:
    models: dict[str, HistGradientBoostingRegressor]  # per regime: seen (with kNN), unseen
    calibration: Calibration
    detector: HistGradientBoostingClassifier
    threshold: float
    diagnostics: dict = field(default_factory=dict)

    def predict(self, features: pd.DataFrame) -> pd.DataFrame:
        """score, low, high, off_topic (bool) and off_topic_probability for each row."""
        with one_thread():  # threads.py: the same scores, without spinning against torch
            return self._predict(features)

    def _predict(self, features: pd.DataFrame) -> pd.DataFrame:
        regime = regime_of(features)
        raw = np.zeros(len(features))
        for name, columns in (("seen", FEATURES), ("unseen", UNSEEN_FEATURES)):
            rows = regime == name
            if rows.any():
                raw[rows] = self.models[name].predict(features.loc[rows, columns])
        score = self.calibration.score(raw, regime)
        low, high = self.calibration.interval(score, regime)
        probability = self.detector.predict_proba(features[DETECTOR_FEATURES])[:, 1]
        flagged = probability >= self.threshold
        return pd.DataFrame(
            {
                "score": np.where(flagged, 0.0, score),
                "low": np.where(flagged, 0.0, low),
                "high": np.where(flagged, 0.0, high),
                "off_topic": flagged,
                "off_topic_probability": probability,
            },
            index=features.index,
        )


def reasons(row: pd.Series) -> list[str]:
    return [reason for reason, test in REASONS.items() if test(row)] or ["does not address the question"]


def _boosting(recipe: StackRecipe) -> dict:
    """The recipe's settings, shared by the score's trees and the detector."""
    return {
        "max_depth": recipe.max_depth,
        "learning_rate": recipe.learning_rate,
        "max_iter": recipe.max_iter,
        "min_samples_leaf": recipe.min_samples_leaf,
        "random_state": recipe.seed,
    }


def _trees(recipe: StackRecipe) -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(**_boosting(recipe))


def _detector(recipe: StackRecipe) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(**_boosting(recipe))


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
    splitter = GroupKFold(n_splits=recipe.folds)
    weight = np.where(kind == "answer", 1.0, recipe.non_answer_weight)
    seen = features["knn_score"].notna().to_numpy()
    regimes = {"seen": (seen, FEATURES), "unseen": (np.ones(len(features), bool), UNSEEN_FEATURES)}
    raw, regime, human_of, models = [], [], [], {}
    for name, (rows, columns) in regimes.items():
        x, y, w = features.loc[rows, columns], human[rows], weight[rows]
        oof = np.empty(len(x))
        for train, held in splitter.split(x, y, question[rows]):
            oof[held] = (
                _trees(recipe).fit(x.iloc[train], y[train], sample_weight=w[train]).predict(x.iloc[held])
            )
        answers = kind[rows] == "answer"  # the map and the interval are those of real answers
        raw.append(oof[answers])
        human_of.append(y[answers])
        regime.append(np.full(answers.sum(), name))
        models[name] = _trees(recipe).fit(x, y, sample_weight=w)
    raw_all, human_all, regime_all = np.concatenate(raw), np.concatenate(human_of), np.concatenate(regime)
    calibration = fit_calibration(
        raw_all, human_all, regime_all, np.ones(len(raw_all), bool), band_edges, level
    )

    detect = kind != "augment"
    x, label = features.loc[detect, DETECTOR_FEATURES], (kind[detect] != "answer").astype(int)
    cost = np.where(label == 1, 1.0, 1.0 + recipe.detector_grade_weight * human[detect])
    probability = np.empty(len(x))
    for train, held in splitter.split(x, label, question[detect]):
        fitted = _detector(recipe).fit(x.iloc[train], label[train], sample_weight=cost[train])
        probability[held] = fitted.predict_proba(x.iloc[held])[:, 1]
    threshold = detector_threshold(probability, label, human[detect], recipe.false_alarms)
    detector = _detector(recipe).fit(x, label, sample_weight=cost)
    flagged = probability >= threshold
    diagnostics = {
        "detector_threshold": round(threshold, 4),
        "detector_oof_recall": round(float(flagged[label == 1].mean()), 4),
        "detector_oof_false_alarms_graded_2_plus": round(
            float(flagged[(label == 0) & (human[detect] >= 2)].mean()), 4
        ),
        "detector_oof_flags_on_real_answers": round(float(flagged[label == 0].mean()), 4),
    }
    return Stacker(models, calibration, detector, threshold, diagnostics)


def detector_threshold(probability: np.ndarray, label: np.ndarray, human: np.ndarray, budget: float) -> float:
    """The lowest threshold whose flags on real answers graded >= 2 stay within `budget`."""
    real = probability[(label == 0) & (human >= 2)]
    if not len(real):
        return 0.5
    # Flag only above the (1 - budget) quantile of what good real answers get, and never below 0.5.
    return float(max(0.5, np.quantile(real, 1 - budget, method="higher") + 1e-9))
