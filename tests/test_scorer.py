"""The answer scorer end to end with the real encoder on real rows, with a tiny recipe."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pytest
import yaml
from pydantic import ValidationError
from scipy.stats import pearsonr
from typer.testing import CliRunner

from mockmentor.cli import app
from mockmentor.model_assets import resolved_path
from mockmentor.scorer.fitting import ScorerRecipe, fit
from mockmentor.scorer.network import build, predict_raw
from mockmentor.scorer.pairs import load_pairs
from mockmentor.scorer.scorer import AnswerScorer
from mockmentor.training import train_scorer

pytestmark = pytest.mark.slow  # scorer training

REPO = Path(__file__).resolve().parent.parent
TINY_RECIPE = {
    "architecture": "siamese",
    "max_length": 64,
    "learning_rate": 5.0e-5,
    "epochs": 1,
    "batch_size": 16,
    "negatives_per_question": 1,
    "seed": 0,
    "max_steps": 8,
}


def tiny_config(folder: Path, **recipe: object) -> Path:
    config = {
        "train_scorer": {
            "processed_dir": str(REPO / "data/processed"),
            "splits_dir": str(REPO / "data/splits"),
            "output_dir": str(folder / "scorer"),
            "metrics": str(folder / "scorer_train.json"),
            "encoder": "scorer-encoder",
            "interval_level": 0.8,
            "band_edges": [3.0, 4.25],
            "register_as": "answer-scorer",
            "recipe": TINY_RECIPE | recipe,
        },
        "evaluate_scorer": {
            "processed_dir": str(REPO / "data/processed"),
            "splits_dir": str(REPO / "data/splits"),
            "model_dir": str(folder / "scorer"),
            "encoder": "scorer-encoder",
            "metrics": str(folder / "scorer.json"),
            "plots_dir": str(folder / "plots"),
            "retrain_unseen_questions": True,
        },
    }
    path = folder / "scorer.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def pairs(prepared_data: Path):
    return load_pairs(prepared_data / "processed", prepared_data / "splits")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, prepared_data: Path) -> Path:
    folder = tmp_path_factory.mktemp("scorer")
    train_scorer.main(tiny_config(folder))
    return folder


@pytest.fixture(scope="module")
def scorer(trained: Path) -> AnswerScorer:
    return AnswerScorer(trained / "scorer")


def test_a_few_steps_lower_the_loss(pairs) -> None:
    rows = pairs[pairs["split"] == "train"].sample(64, random_state=0)
    recipe = ScorerRecipe(
        architecture="cross", max_length=64, learning_rate=1e-4, epochs=1, batch_size=16, max_steps=12, seed=0
    )

    def mse(model, tokenizer) -> float:
        raw = predict_raw(model, tokenizer, rows, "cross", 64)
        return float(np.mean((raw - rows["score"].to_numpy() / 5) ** 2))

    before = mse(*build(resolved_path("scorer-encoder"), "cross"))
    model, tokenizer, history = fit(rows, recipe, resolved_path("scorer-encoder"), Path("/tmp/mm-fit"))
    assert mse(model, tokenizer) < before / 2
    assert [entry["step"] for entry in history] == [10]  # logged every 10 steps


def test_predictions_are_scores_with_intervals(scorer: AnswerScorer, pairs) -> None:
    rows = pairs[pairs["split"] == "test"].head(40)
    results = scorer.score(rows[["reference", "answer"]].to_dict("records"))
    assert len(results) == 40
    for result in results:
        assert 0 <= result.low <= result.score <= result.high <= 5
    assert len({result.score for result in results}) > 10


def test_reference_beats_an_unrelated_answer(scorer: AnswerScorer, pairs) -> None:
    questions = pairs.drop_duplicates("question_id").head(10)
    unrelated = "I think the weather will be sunny tomorrow, so we can go to the beach."
    for row in questions.itertuples():
        right, wrong = scorer.score(
            [
                {"reference": row.reference, "answer": row.reference},
                {"reference": row.reference, "answer": unrelated},
            ]
        )
        assert right.score > wrong.score + 1, row.question_id


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ("", "at least 1 character"),
        ("   ", "at least 1 character"),
        (42, "valid string"),
        ("x" * 50_000, "at most 20000 characters"),
    ],
)
def test_bad_answers_are_clear_errors(scorer: AnswerScorer, answer: object, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        scorer.score([{"reference": "A location in memory that can store a value.", "answer": answer}])


def test_long_answer_is_scored_by_its_best_window(scorer: AnswerScorer) -> None:
    reference = "A variable is a location in memory that can store a value."
    padding = "Let me tell you about my holidays by the sea, which were long and sunny. " * 60
    [long_answer] = scorer.score([{"reference": reference, "answer": padding + reference}])
    [padding_only] = scorer.score([{"reference": reference, "answer": padding}])
    assert len(scorer._windows(padding + reference)) > 5
    assert long_answer.score > padding_only.score


def test_training_writes_metrics_and_registers_a_champion(trained: Path) -> None:
    metrics = json.loads((trained / "scorer_train.json").read_text())["val"]
    assert {"pearson", "spearman", "rmse", "qwk", "coverage80"} <= set(metrics)
    client = mlflow.MlflowClient()
    champion = client.get_model_version_by_alias("answer-scorer", "champion")
    assert float(champion.tags["val_pearson"]) == pytest.approx(metrics["pearson"], abs=1e-4)


def test_a_worse_model_does_not_take_the_champion_alias(trained: Path, tmp_path: Path) -> None:
    client = mlflow.MlflowClient()
    before = client.get_model_version_by_alias("answer-scorer", "champion").version
    train_scorer.main(tiny_config(tmp_path, max_steps=1, learning_rate=1e-7))
    after = client.get_model_version_by_alias("answer-scorer", "champion").version
    latest = max(int(v.version) for v in client.search_model_versions("name='answer-scorer'"))
    assert after == before and latest > int(before)


def test_champion_loads_from_the_registry_and_scores_from_the_cli(trained: Path) -> None:
    result = CliRunner().invoke(app, ["score", "--reference", "At the main function.", "--answer", "main()"])
    assert result.exit_code == 0, result.output
    parsed = json.loads(result.stdout)
    assert set(parsed) == {"score", "low", "high"} and 0 <= parsed["score"] <= 5
    empty = CliRunner().invoke(app, ["score", "--reference", "At the main function.", "--answer", " "])
    assert empty.exit_code == 2 and "answer" in empty.output and "Traceback" not in empty.output


def test_evaluation_writes_every_key(trained: Path) -> None:
    from mockmentor.evaluation.evaluate_scorer import main

    report = main(trained / "scorer.yaml")
    written = json.loads((trained / "scorer.json").read_text())
    assert written == json.loads(json.dumps(report))
    pairs = load_pairs(REPO / "data/processed", REPO / "data/splits")
    rows = {"ua": pairs[pairs["split"] == "test"], "uq": pairs}
    for protocol in ("ua", "uq"):
        assert set(written[protocol]) == {"siamese_encoder", "tfidf", "biencoder", "human"}
        for method, metrics in written[protocol].items():
            assert {"pearson", "spearman", "rmse", "qwk", "coverage80", "per_question_pearson"} <= set(
                metrics
            )
            assert -1 <= metrics["pearson"] <= 1 and -1 <= metrics["spearman"] <= 1, method
            assert 0 <= metrics["rmse"] <= 5 and metrics["qwk"] <= 1, method
            assert metrics["n"] == len(rows[protocol]), method  # every method on the same rows
        assert 0 < written[protocol]["siamese_encoder"]["coverage80"] <= 1
        # the human reference is grader 1 against grader 2 on exactly those rows
        graders = rows[protocol]
        assert written[protocol]["human"]["pearson"] == pytest.approx(
            pearsonr(graders["grader1"], graders["grader2"])[0], abs=1e-4
        )
    assert written["ua"]["human"]["n"] == 236 and written["uq"]["human"]["n"] == 2273
    assert len(list((trained / "plots").glob("*.png"))) == 6
