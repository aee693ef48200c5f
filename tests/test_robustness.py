"""The robustness set: answers that do not answer, built by rule from the real questions."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import REPO

from mockmentor.data.build_robustness import KINDS, keywords, main


@pytest.fixture(scope="module")
def robustness(robustness_data: Path) -> tuple[pd.DataFrame, dict]:
    report = json.loads((robustness_data.parent / "report.json").read_text())
    return pd.read_parquet(robustness_data / "answers.parquet"), report


def test_every_kind_for_every_question_with_its_fold(
    robustness: tuple[pd.DataFrame, dict], prepared_data: Path
) -> None:
    rows, report = robustness
    questions = pd.read_parquet(prepared_data / "processed/questions.parquet").set_index("id")
    folds = pd.read_parquet(prepared_data / "splits/uq.parquet").set_index("question_id")["fold"]
    assert set(rows["kind"]) == set(KINDS) and rows["id"].is_unique
    assert rows["question_id"].nunique() == len(questions) == report["questions"]
    assert (rows["fold"] == rows["question_id"].map(folds)).all()  # split exactly like the UQ folds
    assert (rows["score"] == 0).all()
    assert report["kinds"] == rows["kind"].value_counts().to_dict()


def test_each_kind_is_what_it_says(robustness: tuple[pd.DataFrame, dict], prepared_data: Path) -> None:
    rows, _ = robustness
    questions = pd.read_parquet(prepared_data / "processed/questions.parquet").set_index("id")
    for row in rows.itertuples():
        question = questions.loc[row.question_id]
        if row.kind == "question_restated":
            asked = question["text"]
            assert asked in row.answer or (asked[0].lower() + asked[1:]) in row.answer, row.answer
        elif row.kind == "other_answer":
            others = questions[questions["assignment"] != question["assignment"]]["reference_answer"]
            assert row.answer in set(others), row.answer  # another assignment's reference, never its own
        elif row.kind == "keyword_list":
            words = keywords(question["reference_answer"], 5)
            assert " ".join(words) in row.answer
        elif row.kind in ("non_answer", "filler", "unrelated"):
            assert question["reference_answer"] not in row.answer


def test_the_same_seed_builds_the_same_set(robustness: tuple[pd.DataFrame, dict], tmp_path: Path,
                                           prepared_data: Path) -> None:  # fmt: skip
    first, _ = robustness
    section = yaml.safe_load((REPO / "configs/data.yaml").read_text())["build_robustness"]
    section |= {
        "processed_dir": str(prepared_data / "processed"), "splits_dir": str(prepared_data / "splits"),
        "phrases": str(REPO / "data/raw/robustness/phrases.yaml"), "output_dir": str(tmp_path / "out"),
        "report": str(tmp_path / "report.json"),
    }  # fmt: skip
    (tmp_path / "data.yaml").write_text(yaml.safe_dump({"build_robustness": section}))
    main(tmp_path / "data.yaml")
    pd.testing.assert_frame_equal(first, pd.read_parquet(tmp_path / "out/answers.parquet"))
