"""The `prepare` stage end to end on the real raw data: outputs, splits, report, determinism."""

from __future__ import annotations

import hashlib
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from mockmentor.cli import app
from mockmentor.data.prepare import main

RAW = Path(__file__).resolve().parent.parent / "data" / "raw"


def write_config(folder: Path, **changes: object) -> Path:
    section = {
        "raw_dir": str(RAW),
        "processed_dir": str(folder / "processed"),
        "splits_dir": str(folder / "splits"),
        "report": str(folder / "report.json"),
        "plots_dir": str(folder / "plots"),
        "seed": 2011,
        "keep_selection_questions": False,
        "ua_fractions": [0.8, 0.1, 0.1],
        "uq_folds": 5,
        "bank_fractions": [0.8, 0.1, 0.1],
        "agreement_assignments": list(range(1, 11)),
    } | changes
    path = folder / "data.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"prepare": section}))
    return path


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("prepare")
    return folder, main(write_config(folder))


def test_counts_in_report(prepared: tuple[Path, dict]) -> None:
    _, report = prepared
    assert report["release"]["mohler2011"] == {"questions": 87, "answers": 2442}
    assert report["sources"]["mohler2011"] == {"questions": 81, "answers": 2273}
    assert sum(report["splits"]["ua"].values()) == 2273
    assert sum(fold["questions"] for fold in report["splits"]["uq"].values()) == 81
    assert sum(report["score_histogram"].values()) == 2273
    assert report["topics"]["ml-theory"] == 152


def test_grader_agreement_is_the_published_ceiling(prepared: tuple[Path, dict]) -> None:
    _, report = prepared
    release = report["grader_agreement"]["release"]
    assert release["rows"] == 1862
    assert release["pearson"] == pytest.approx(0.61, abs=0.005)
    assert report["grader_agreement"]["kept"]["pearson"] == pytest.approx(0.591, abs=0.005)


def test_unseen_answer_splits_are_disjoint_and_per_question(prepared: tuple[Path, dict]) -> None:
    folder, _ = prepared
    ua = pd.read_parquet(folder / "splits/ua.parquet")
    answers = pd.read_parquet(folder / "processed/answers.parquet")
    assert ua["id"].is_unique and set(ua["id"]) == set(answers["id"])
    assert set(ua["split"]) == {"train", "val", "test"}
    shares = ua.groupby("question_id")["split"].value_counts(normalize=True).unstack(fill_value=0)
    assert shares["train"].between(0.7, 0.9).all()
    assert (ua.groupby("question_id")["split"].nunique() == 3).all()


def test_unseen_question_folds_hold_each_question_once(prepared: tuple[Path, dict]) -> None:
    folder, _ = prepared
    uq = pd.read_parquet(folder / "splits/uq.parquet")
    assert uq["question_id"].is_unique and len(uq) == 81
    assert sorted(uq["fold"].unique()) == [0, 1, 2, 3, 4]
    assert uq["fold"].value_counts().max() - uq["fold"].value_counts().min() <= 1


def test_records_carry_the_contract_fields(prepared: tuple[Path, dict]) -> None:
    folder, _ = prepared
    questions = pd.read_parquet(folder / "processed/questions.parquet")
    bank = pd.read_parquet(folder / "processed/bank.parquet")
    for frame in (questions, bank):
        assert {"id", "source", "topic", "text", "reference_answer", "key_points", "licence"} <= set(frame)
        assert frame["key_points"].map(len).min() >= 1
    assert bank["licence"].isin(["CC-BY-4.0", "MIT"]).all()


def test_prepare_is_reproducible(prepared: tuple[Path, dict], tmp_path: Path) -> None:
    first, report = prepared
    again = main(write_config(tmp_path))
    assert again == report
    for relative in [
        "processed/answers.parquet",
        "processed/bank.parquet",
        "splits/ua.parquet",
        "splits/uq.parquet",
        "splits/bank.parquet",
        "report.json",
    ]:
        digests = {hashlib.sha256((root / relative).read_bytes()).hexdigest() for root in (first, tmp_path)}
        assert len(digests) == 1, relative


def test_another_seed_gives_other_splits(prepared: tuple[Path, dict], tmp_path: Path) -> None:
    first, _ = prepared
    main(write_config(tmp_path, seed=7))
    ua_a = pd.read_parquet(first / "splits/ua.parquet").set_index("id")["split"]
    ua_b = pd.read_parquet(tmp_path / "splits/ua.parquet").set_index("id")["split"]
    assert (ua_a != ua_b.loc[ua_a.index]).any()


def test_prepare_logs_an_mlflow_run(prepared: tuple[Path, dict]) -> None:
    runs = mlflow.search_runs(experiment_names=["mockmentor"], filter_string="tags.`dvc.stage` = 'prepare'")
    assert len(runs) >= 1
    run = runs.iloc[0]
    assert run["metrics.grader_agreement.release.pearson"] == pytest.approx(0.61, abs=0.005)
    assert len(run["tags.git.commit"]) in (40, len("unknown"))


def test_bad_config_is_a_one_line_error(tmp_path: Path) -> None:
    config = write_config(tmp_path, uq_folds=1)
    result = CliRunner().invoke(app, ["prepare", "--config", str(config)])
    assert result.exit_code == 2
    assert "section 'prepare'" in result.output and "uq_folds" in result.output
    assert "Traceback" not in result.output


def test_unknown_config_key_is_rejected(tmp_path: Path) -> None:
    config = write_config(tmp_path, sead=3)
    result = CliRunner().invoke(app, ["prepare", "--config", str(config)])
    assert result.exit_code == 2
    assert "field 'sead'" in result.output


def test_malformed_row_stops_the_stage_naming_file_and_line(tmp_path: Path) -> None:
    import shutil

    raw = tmp_path / "raw"
    shutil.copytree(RAW / "mohler2011", raw / "mohler2011")
    shutil.copytree(RAW / "interview-banks", raw / "interview-banks")
    questions = raw / "mohler2011/data/raw/questions"
    lines = questions.read_text().splitlines()
    lines[9] = "2.3"
    questions.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(app, ["prepare", "--config", str(write_config(tmp_path, raw_dir=str(raw)))])
    assert result.exit_code == 2
    assert f"{questions}:10: field 'text'" in result.output
    assert not (tmp_path / "report.json").exists()
