"""Agreement metrics and the similarity baselines, on real rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mockmentor.evaluation.evaluate_scorer import per_question_pearson
from mockmentor.evaluation.scorer_baselines import isotonic_scores, tfidf_similarity
from mockmentor.metrics import score_agreement
from mockmentor.metrics.score_agreement import half_points
from mockmentor.scorer.pairs import augment, load_pairs


@pytest.fixture(scope="module")
def pairs(prepared_data: Path) -> pd.DataFrame:
    return load_pairs(prepared_data / "processed", prepared_data / "splits")


def test_perfect_and_inverted_predictions() -> None:
    human = np.array([0, 1.5, 3, 4.5, 5])
    perfect = score_agreement(human, human, human - 0.1, human + 0.1)
    assert (perfect["pearson"], perfect["rmse"], perfect["qwk"], perfect["coverage80"]) == (
        1.0,
        0.0,
        1.0,
        1.0,
    )
    inverted = score_agreement(human, 5 - human)
    assert inverted["pearson"] == -1.0 and inverted["qwk"] < 0 and inverted["coverage80"] is None


def test_half_points_round_and_clip() -> None:
    assert half_points(np.array([-1.0, 0.24, 0.26, 4.9, 7.0])).tolist() == [0, 0, 1, 10, 10]


def test_per_question_pearson_skips_constant_questions() -> None:
    frame = pd.DataFrame(
        {"question_id": ["a"] * 3 + ["b"] * 3, "score": [1, 2, 3, 5, 5, 5], "pred": [1, 2, 4, 1, 2, 3]}
    )
    result = per_question_pearson(frame, "pred")
    assert result["a"] == pytest.approx(0.9820, abs=1e-4) and np.isnan(result["b"])


def test_pairs_join_questions_and_splits(pairs: pd.DataFrame) -> None:
    assert len(pairs) == 2273 and pairs[["question", "reference", "split", "fold"]].notna().all().all()
    assert set(pairs["split"]) == {"train", "val", "test"}


def test_augmentation_adds_both_ends_of_the_scale(pairs: pd.DataFrame) -> None:
    train = pairs[pairs["split"] == "train"]
    augmented = augment(train, negatives_per_question=2, seed=0)
    full = augmented[augmented["source"] == "augment:reference"]
    negative = augmented[augmented["source"] == "augment:other-question"]
    assert len(full) == 81 and (full["answer"] == full["reference"]).all() and (full["score"] == 5).all()
    assert len(negative) == 162 and (negative["score"] == 0).all()
    original_question = negative["id"].str.split(":vs:").str[0].map(pairs.set_index("id")["question_id"])
    assert (original_question != negative["question_id"]).all()


def test_tfidf_baseline_tracks_human_scores(pairs: pd.DataFrame) -> None:
    train, test = pairs[pairs["split"] == "train"], pairs[pairs["split"] == "test"]
    scores = isotonic_scores(
        tfidf_similarity(train, train), train["score"].to_numpy(), tfidf_similarity(test, train)
    )
    assert scores.min() >= 0 and scores.max() <= 5
    assert score_agreement(test["score"].to_numpy(), scores)["pearson"] > 0.3


def test_agreement_takes_series_with_any_index() -> None:
    """evaluate_scorer passes pandas columns of a filtered frame (an index that does not start at 0)."""
    frame = pd.DataFrame(
        {"human": [0, 2.5, 5, 4], "low": [0, 1, 4, 3], "high": [1, 3, 5, 4.5]}, index=[7, 9, 11, 13]
    )
    series = score_agreement(frame["human"], frame["human"] + 0.2, frame["low"], frame["high"])
    arrays = score_agreement(*(frame[c].to_numpy() for c in ("human",)), frame["human"].to_numpy() + 0.2,
                             frame["low"].to_numpy(), frame["high"].to_numpy())  # fmt: skip
    assert series == arrays and series["coverage80"] == 1.0
