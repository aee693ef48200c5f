"""The stacked answer scorer on real data: fitting, scoring, the off-topic flag, the registry,
the CLI and the evaluation stage (a tiny recipe: a few encoder steps)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, tiny_scorer_config
from pydantic import ValidationError
from scipy.stats import pearsonr
from typer.testing import CliRunner

from mockmentor.cli import app
from mockmentor.model_assets import resolved_path
from mockmentor.scorer.features import feature_frame, lexical
from mockmentor.scorer.fitting import ScorerRecipe, fit_encoder
from mockmentor.scorer.network import build, predict_raw
from mockmentor.scorer.pairs import load_pairs
from mockmentor.scorer.scorer import AnswerScorer
from mockmentor.scorer.threads import one_thread
from mockmentor.training import train_scorer

pytestmark = pytest.mark.slow  # scorer training

QUESTION = "What is a variable?"
REFERENCE = "A variable is a location in memory that can store a value."


def write_config(folder: Path, robustness: Path, **recipe: object) -> Path:
    path = folder / "scorer.yaml"
    path.write_text(yaml.safe_dump(tiny_scorer_config(folder, robustness, **recipe)))
    return path


@pytest.fixture(scope="module")
def pairs(prepared_data: Path) -> pd.DataFrame:
    return load_pairs(prepared_data / "processed", prepared_data / "splits")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, robustness_data: Path) -> Path:
    folder = tmp_path_factory.mktemp("scorer")
    train_scorer.main(write_config(folder, robustness_data))
    return folder


@pytest.fixture(scope="module")
def scorer(trained: Path) -> AnswerScorer:
    return AnswerScorer(trained / "scorer")


@pytest.fixture(scope="module")
def evaluated(trained: Path) -> dict:
    from mockmentor.evaluation.evaluate_scorer import main

    return main(trained / "scorer.yaml")


def test_a_few_steps_lower_the_loss(pairs: pd.DataFrame, tmp_path: Path) -> None:
    rows = pairs[pairs["split"] == "train"].sample(64, random_state=0)
    recipe = ScorerRecipe(
        architecture="cross", max_length=64, learning_rate=1e-4, epochs=1, batch_size=16, max_steps=12, seed=0
    )

    def mse(model, tokenizer) -> float:
        raw = predict_raw(model, tokenizer, rows, "cross", 64)
        return float(np.mean((raw - rows["score"].to_numpy() / 5) ** 2))

    before = mse(*build(resolved_path("scorer-encoder"), "cross"))
    model, tokenizer, history = fit_encoder(rows, recipe, resolved_path("scorer-encoder"), tmp_path)
    assert mse(model, tokenizer) < before / 2
    assert [entry["step"] for entry in history] == [10]  # logged every 10 steps


def test_predictions_are_scores_with_intervals(scorer: AnswerScorer, pairs: pd.DataFrame) -> None:
    rows = pairs[pairs["split"] == "test"].head(40)
    results = scorer.score(rows[["question_id", "question", "reference", "answer"]].to_dict("records"))
    assert len(results) == 40
    for result in results:
        assert 0 <= result.low <= result.score <= result.high <= 5
    assert len({result.score for result in results}) > 10
    assert pearsonr(rows["score"], [r.score for r in results])[0] > 0.3


def test_a_question_prepared_ahead_is_not_encoded_again_and_its_answers_score_the_same(
    trained: Path, pairs: pd.DataFrame
) -> None:
    # What the voice service does while a question is asked (InterviewEngine._ready).
    rows = pairs[pairs["split"] == "test"].drop_duplicates("question_id").head(4)
    requests = rows[["question_id", "question", "reference", "answer"]].to_dict("records")
    expected = AnswerScorer(trained / "scorer").score(requests)
    prepared = AnswerScorer(trained / "scorer")
    for request in requests:
        prepared.prepare(request["question"], request["reference"])
    encoded: list[str] = []
    lower = prepared.encoders.lower
    prepared.encoders.lower = lambda texts: (encoded.extend(texts), lower(texts))[1]  # type: ignore[method-assign]
    got = prepared.score(requests)
    assert encoded, "the answers themselves are still encoded"
    assert not set(encoded) & (set(rows["question"]) | set(rows["reference"]))
    assert set(encoded) <= {w for a in rows["answer"] for w in prepared.encoders.windows(a)}
    for g, e in zip(got, expected, strict=True):  # the same up to the padding of a batch
        assert (g.score, g.low, g.high, g.off_topic) == pytest.approx(
            (e.score, e.low, e.high, e.off_topic), abs=2e-3
        )


def test_the_trees_and_features_on_one_thread_score_the_same_and_give_torch_its_threads_back(
    scorer: AnswerScorer, pairs: pd.DataFrame
) -> None:
    """threads.py runs numpy and scikit-learn on one thread between the encoder's calls: the scores
    must be those of their default threads, and torch must have its threads again afterwards (an
    encoder left on one thread would halve the service's scoring speed without failing anything)."""
    import torch

    rows = pairs[pairs["split"] == "test"].head(40)
    threads = torch.get_num_threads()
    served = scorer.score(rows[["question_id", "question", "reference", "answer"]].to_dict("records"))
    assert torch.get_num_threads() == threads
    with one_thread():
        assert torch.get_num_threads() == 1  # the limit reaches torch's own pool too
    assert torch.get_num_threads() == threads
    frame = rows[["question_id", "question", "reference", "answer"]].reset_index(drop=True)
    cosines, vectors = scorer.encoders.cosines(frame, "tuned")
    default = feature_frame(frame, cosines, scorer.vectorizer, scorer.graded, vectors, scorer.questions)
    with one_thread():
        single = feature_frame(frame, cosines, scorer.vectorizer, scorer.graded, vectors, scorer.questions)
    # A matrix product split over two threads may add in another order than on one: on an AMD
    # EPYC the question-fit cosines differed in the 7th digit. The same features to float32
    # precision, and the same trees' output on the same features exactly.
    pd.testing.assert_frame_equal(single, default, check_exact=False, rtol=1e-5, atol=1e-6)
    by_default = scorer.stacker._predict(default)  # the trees with scikit-learn's own threads
    pd.testing.assert_frame_equal(scorer.stacker.predict(default), by_default, check_exact=True)
    assert [r.score for r in served] == pytest.approx(by_default["score"].tolist(), abs=5e-4)  # rounded


def test_answers_that_say_nothing_score_low_and_are_flagged(
    scorer: AnswerScorer, pairs: pd.DataFrame
) -> None:
    """On questions the trees never saw without their kNN (bank-like: no question_id)."""
    questions = pairs.drop_duplicates("question_id").head(12)
    for row in questions.itertuples():
        base = {"question": row.question, "reference": row.reference}
        right, restated, unknown = scorer.score(
            [
                base | {"answer": row.reference},
                base | {"answer": row.question},
                base | {"answer": "I don't know."},
            ]
        )
        assert right.score > max(restated.score, unknown.score) + 2, row.question_id
        assert unknown.off_topic and unknown.evidence is not None and unknown.evidence.reasons, (
            row.question_id
        )
        assert not right.off_topic, row.question_id


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
        scorer.score([{"question": QUESTION, "reference": REFERENCE, "answer": answer}])


def test_long_answer_is_scored_by_its_best_window(scorer: AnswerScorer) -> None:
    padding = "Let me tell you about my holidays by the sea, which were long and sunny. " * 60
    base = {"question": QUESTION, "reference": REFERENCE}
    long_answer, padding_only = scorer.score(
        [base | {"answer": padding + REFERENCE}, base | {"answer": padding}]
    )
    assert len(scorer.encoders.windows(padding + REFERENCE)) > 5
    assert long_answer.score > padding_only.score


def test_training_writes_metrics_and_registers_a_champion(trained: Path) -> None:
    metrics = json.loads((trained / "scorer_train.json").read_text())["val"]
    assert {"pearson", "spearman", "rmse", "qwk", "coverage80", "detector_threshold"} <= set(metrics)
    assert 0 < metrics["coverage80"] <= 1 and metrics["detector_threshold"] >= 0.5
    assert metrics["detector_oof_false_alarms_graded_2_plus"] <= 0.05
    client = mlflow.MlflowClient()
    champion = client.get_model_version_by_alias("answer-scorer", "champion")
    assert float(champion.tags["val_pearson"]) == pytest.approx(metrics["pearson"], abs=1e-4)


def test_a_worse_model_does_not_take_the_champion_alias(
    trained: Path, tmp_path: Path, robustness_data: Path
) -> None:
    client = mlflow.MlflowClient()
    before = client.get_model_version_by_alias("answer-scorer", "champion").version
    config = tiny_scorer_config(tmp_path, robustness_data, max_steps=1, learning_rate=1e-7)
    config["train_scorer"]["stack"] |= {"max_iter": 2, "learning_rate": 0.01}
    (tmp_path / "scorer.yaml").write_text(yaml.safe_dump(config))
    train_scorer.main(tmp_path / "scorer.yaml")
    after = client.get_model_version_by_alias("answer-scorer", "champion").version
    latest = max(int(v.version) for v in client.search_model_versions("name='answer-scorer'"))
    assert after == before and latest > int(before)


def test_champion_loads_from_the_registry_and_scores_from_the_cli(trained: Path) -> None:
    asked = ["score", "--question", QUESTION, "--reference", REFERENCE]
    result = CliRunner().invoke(app, [*asked, "--answer", "A named place in memory that holds a value."])
    assert result.exit_code == 0, result.output
    parsed = json.loads(result.stdout)
    assert set(parsed) == {"score", "low", "high", "off_topic", "evidence"} and 0 <= parsed["score"] <= 5
    off = json.loads(CliRunner().invoke(app, [*asked, "--answer", "No idea, sorry."]).stdout)
    assert off["off_topic"] and off["evidence"]["reasons"]
    empty = CliRunner().invoke(app, [*asked, "--answer", " "])
    assert empty.exit_code == 2 and "answer" in empty.output and "Traceback" not in empty.output


def test_a_keyword_list_is_the_reference_in_order_in_one_run_and_a_real_answer_is_not() -> None:
    """Mohler 1.7: the robustness set's keyword list against a real answer graded 5. Both use the
    reference's words, so recall cannot tell them apart; the order and the run can."""
    question = "What is the main difference between a while and a do...while statement?"
    reference = "The block inside a do...while statement will execute at least once."
    listed = lexical(question, reference, "um well basically block inside statement execute")
    said = lexical(question, reference, (
        "a do while loop always executes once. A while loop's conditional statement has to be true "
        "for it to run."
    ))  # fmt: skip
    assert listed["reference_order"] == 1.0 and said["reference_order"] < 0.5
    assert listed["content_run"] == pytest.approx(np.log1p(4))  # block inside statement execute
    assert said["content_run"] == pytest.approx(np.log1p(2))  # "conditional statement"
    assert lexical(question, reference, "push and pop")["content_run"] == pytest.approx(np.log1p(1))


@pytest.mark.parametrize(
    ("question", "reference", "right", "hollow"),
    [
        (  # Mohler 5.4: the real answer (graded 5) gives the size; the list only restates "sorted"
            "What is the base case for a recursive implementation of merge sort?",
            "When the size of the array to be sorted is 1 (or 2)",
            "array of length 1",
            "array sorted",
        ),
        (  # Mohler 11.5: "itself" is a stop word, and it is the whole point
            "What is a recursive function?",
            "A function that calls itself.",
            "a function that calls itself in the definition code",
            "function calls",
        ),
    ],
)
def test_beyond_recall_counts_what_the_reference_adds_to_the_question(
    question: str, reference: str, right: str, hollow: str
) -> None:
    """Reference recall cannot tell these apart (the list has as much of the reference's content
    words, or more); what the reference says beyond the question can."""
    said, listed = lexical(question, reference, right), lexical(question, reference, hollow)
    assert listed["reference_recall"] >= said["reference_recall"]
    assert said["beyond_recall"] > listed["beyond_recall"]
    assert lexical(question, reference, question)["beyond_recall"] == 0.0  # the question read back


def test_each_robustness_kind_scores_low_on_held_out_questions(evaluated: dict) -> None:
    """Unseen-question folds: the trees never saw the question, its answers or its robustness rows.
    Every kind meets the shipped model's goal (mean <= 1) even with a few encoder steps (another
    question's reference is told apart by the pretrained vectors alone), except the keyword lists:
    the scorer's known blind spot (README, "What the scorer cannot see"; the shipped model gives
    them 2.91), which must still score below the reference itself."""
    table = dict(evaluated["robustness"]["stacked"])  # the fixture is shared: pop from a copy
    reference = table.pop("reference_answer")
    assert reference["mean"] >= 4.0, reference  # the reference itself still scores high
    assert set(table) == {
        "filler", "keyword_list", "non_answer", "other_answer", "question_restated", "unrelated"
    }  # fmt: skip
    for kind, figures in table.items():
        bound = reference["mean"] - 0.5 if kind == "keyword_list" else 1.0
        assert figures["mean"] <= bound, (kind, figures, reference)
    flagged = evaluated["off_topic"]
    assert flagged["flagged_real_answers_graded_2_plus"] <= 0.05 and flagged["flagged_references"] == 0


def test_evaluation_writes_every_key_with_values_that_fit(trained: Path, evaluated: dict) -> None:
    written = json.loads((trained / "scorer.json").read_text())
    assert written == json.loads(json.dumps(evaluated))
    pairs = load_pairs(REPO / "data/processed", REPO / "data/splits")
    rows = {"ua": pairs[pairs["split"] == "test"], "uq": pairs}
    methods = {"tfidf_isotonic", "frozen_cosine_isotonic", "fine_tuned_bi_encoder", "stacked", "human"}
    for protocol in ("ua", "uq"):
        assert set(written[protocol]) == methods
        for method, metrics in written[protocol].items():
            assert -1 <= metrics["pearson"] <= 1 and -1 <= metrics["spearman"] <= 1, method
            assert 0 <= metrics["rmse"] <= 5 and metrics["qwk"] <= 1, method
            assert metrics["n"] == len(rows[protocol]), method  # every method on the same rows
        assert 0 < written[protocol]["stacked"]["coverage80"] <= 1
        graders = rows[protocol]  # the human reference: grader 1 against grader 2 on those rows
        assert written[protocol]["human"]["pearson"] == pytest.approx(
            pearsonr(graders["grader1"], graders["grader2"])[0], abs=1e-4
        )
    for goal in written["goals"].values():
        assert isinstance(goal["met"], bool)
    assert len(list((trained / "plots").glob("*.png"))) == 7
    # every real answer once, scored by the fold that held its question out (the interviewer's
    # evaluation plans its verdicts from these)
    predictions = pd.read_parquet(trained / "uq_scores.parquet")
    assert sorted(predictions.index) == sorted(pairs["id"]) and predictions["stacked"].between(0, 5).all()
    folds = pd.read_parquet(REPO / "data/splits/uq.parquet").set_index("question_id")["fold"]
    assert (predictions["fold"] == predictions["question_id"].map(folds)).all()


def test_a_fold_is_scored_by_a_fit_that_never_saw_its_labels(trained: Path) -> None:
    """Permuting the scores of one fold's answers changes nothing of that fold's predictions:
    the trees, their calibration and the detector are fitted without it."""
    from mockmentor.evaluation import evaluate_scorer as stage

    config = yaml.safe_load((trained / "scorer.yaml").read_text())["evaluate_scorer"]
    meta = json.loads((trained / "scorer" / "scorer.json").read_text())
    data = stage.inputs(stage.EvaluateScorerConfig(**config), meta)
    first = stage.unseen_question_fold(data, 0, meta)
    shuffled = data.rows.copy()
    in_fold = shuffled["fold"] == 0
    shuffled.loc[in_fold, "score"] = np.random.default_rng(0).permutation(
        shuffled.loc[in_fold, "score"].to_numpy()
    )
    permuted = dataclasses.replace(data, rows=shuffled, fitting=shuffled.loc[data.fitting.index])
    second = stage.unseen_question_fold(permuted, 0, meta)
    assert not first["score"].equals(second["score"])  # the permutation did reach the fold's rows
    pd.testing.assert_series_equal(first["stacked"], second["stacked"])
    pd.testing.assert_series_equal(first["high"], second["high"])
