"""The robustness set: answers that do not answer, built by rule from the real questions."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import REPO

from mockmentor.content_terms import terms
from mockmentor.data.build_robustness import KINDS, keywords, main


@pytest.fixture(scope="module")
def robustness(robustness_data: Path) -> tuple[pd.DataFrame, dict]:
    report = json.loads((robustness_data.parent / "report.json").read_text())
    return pd.read_parquet(robustness_data / "answers.parquet"), report


def stage_config(folder: Path, prepared_data: Path, phrases: Path) -> None:
    """The stage's own section, reading the prepared data and `phrases`, writing into `folder`
    (as folder/data.yaml)."""
    section = yaml.safe_load((REPO / "configs/data.yaml").read_text())["build_robustness"]
    section |= {
        "processed_dir": str(prepared_data / "processed"), "splits_dir": str(prepared_data / "splits"),
        "phrases": str(phrases), "output_dir": str(folder / "out"), "report": str(folder / "report.json"),
    }  # fmt: skip
    (folder / "data.yaml").write_text(yaml.safe_dump({"build_robustness": section}))


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
    phrases = yaml.safe_load((REPO / "data/raw/robustness/phrases.yaml").read_text())["phrases"]
    judged = set(phrases["keyword_list_questions"])  # where the project judged a bare list no answer
    for row in rows.itertuples():
        question = questions.loc[row.question_id]
        if row.kind == "question_restated":
            asked = question["text"]
            assert asked in row.answer or (asked[0].lower() + asked[1:]) in row.answer, row.answer
        elif row.kind == "other_answer":
            others = questions[questions["assignment"] != question["assignment"]]["reference_answer"]
            assert row.answer in set(others), row.answer  # another assignment's reference, never its own
            # ... and never one that answers this question too ("push and pop" answers 8.2 and 12.7)
            assert not terms(row.answer) & (terms(question["text"]) | terms(question["reference_answer"]))
        elif row.kind == "keyword_list":
            words = keywords(question["reference_answer"], 5)
            assert " ".join(words) in row.answer and row.question_id in judged, row.question_id
        elif row.kind in ("non_answer", "filler", "unrelated"):
            assert question["reference_answer"] not in row.answer


def test_the_same_seed_builds_the_same_set(robustness: tuple[pd.DataFrame, dict], tmp_path: Path,
                                           prepared_data: Path) -> None:  # fmt: skip
    first, _ = robustness
    stage_config(tmp_path, prepared_data, REPO / "data/raw/robustness/phrases.yaml")
    main(tmp_path / "data.yaml")
    pd.testing.assert_frame_equal(first, pd.read_parquet(tmp_path / "out/answers.parquet"))


def test_a_judged_question_that_does_not_exist_is_named(tmp_path: Path, prepared_data: Path) -> None:
    phrases = yaml.safe_load((REPO / "data/raw/robustness/phrases.yaml").read_text())
    phrases["phrases"]["keyword_list_questions"]["mohler-99.9"] = "no such question"
    (tmp_path / "phrases.yaml").write_text(yaml.safe_dump(phrases))
    stage_config(tmp_path, prepared_data, tmp_path / "phrases.yaml")
    with pytest.raises(ValueError, match=r"phrases\.yaml.*mohler-99\.9"):
        main(tmp_path / "data.yaml")
    assert not (tmp_path / "out").exists()  # nothing half-written
