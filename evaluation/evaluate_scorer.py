"""DVC stage `evaluate_scorer`: every scorer against human graders, on the same rows, in minutes.

Reads only the `evaluate_scorer` section of configs/scorer.yaml. Two protocols:
  UA  unseen answers: the trained scorer, as served, on the test answers of questions it saw
      (their other graded answers on file: the kNN features are there);
  UQ  unseen questions: per question fold, the trees, their calibration and the off-topic
      detector are fitted again without the fold and score it without kNN. The bi-encoder's
      out-of-fold cosines come from `train_scorer` (one encoder per fold, fitted there), so no
      encoder is trained here: the whole stage takes a few minutes.
Methods: TF-IDF cosine + isotonic, the pretrained encoder's cosine + isotonic, the fine-tuned
bi-encoder alone (isotonic, out of fold: today's design), the stacked scorer (shipped), and
grader 1 vs grader 2 (the human reference). The robustness set is scored under UQ: each kind's
mean score and share scored 2 or more, and what the off-topic detector flags. Writes the metrics
(a DVC metric), plots, and one MLflow run with all of them.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import asdict, field
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic.dataclasses import dataclass
from scipy.stats import pearsonr
from sklearn.isotonic import IsotonicRegression
from tqdm import tqdm

from mockmentor.config import STRICT, load_section
from mockmentor.metrics import score_agreement
from mockmentor.model_assets import resolve
from mockmentor.scorer.features import QuestionSpace, RowVectors
from mockmentor.scorer.fitting import ScorerRecipe
from mockmentor.scorer.pairs import all_questions, load_rows
from mockmentor.scorer.scorer import AnswerScorer
from mockmentor.scorer.stacked import (
    ENCODER_FEATURES,
    fit_trees,
    question_space,
    row_vectors,
    stack_features,
)
from mockmentor.scorer.stacker import StackRecipe

from . import scorer_plots
from .scorer_baselines import isotonic_scores, tfidf_similarity

METHODS = ["tfidf_isotonic", "frozen_cosine_isotonic", "fine_tuned_bi_encoder", "stacked"]
SHIPPED = "stacked"
GOALS = {
    "uq_pearson_at_least": 0.62,
    "ua_pearson_at_least": 0.78,
    "ua_rmse_at_most": 0.75,
    "robust_mean_at_most": 1.0,
    "robust_share_2_plus_under": 0.10,
    "reference_mean_at_least": 4.5,
}


@dataclass(config=STRICT)
class EvaluateScorerConfig:
    processed_dir: Path = field(metadata={"help": "records written by `prepare`"})
    splits_dir: Path = field(metadata={"help": "splits written by `prepare`"})
    robustness_dir: Path = field(metadata={"help": "answers that do not answer, from `build_robustness`"})
    model_dir: Path = field(metadata={"help": "the scorer written by `train_scorer`"})
    folds_features: Path = field(metadata={"help": "out-of-fold encoder features from `train_scorer`"})
    encoder: str = field(metadata={"help": "pretrained encoder for the cosine baseline"})
    metrics: Path = field(metadata={"help": "output metrics (a DVC metric)"})
    plots_dir: Path = field(metadata={"help": "output folder for plots"})
    uq_predictions: Path = field(
        metadata={"help": "every real answer scored by the fold that never saw its question (parquet)"}
    )


UQ_PREDICTION_COLUMNS = [
    "question_id", "fold", "answer", "score", "stacked", "low", "high", "stacked_off_topic"
]  # fmt: skip


def per_question_pearson(frame: pd.DataFrame, column: str) -> pd.Series:
    """Pearson r within each question (NaN where a question's human scores are all equal)."""

    def within(group: pd.DataFrame) -> float:
        if group["score"].nunique() < 2 or group[column].nunique() < 2:
            return float("nan")
        return float(pearsonr(group["score"], group[column])[0])

    return frame.groupby("question_id")[["score", column]].apply(within)


def isotonic(train_x: np.ndarray, train_y: np.ndarray, x: np.ndarray) -> np.ndarray:
    return IsotonicRegression(y_min=0, y_max=5, out_of_bounds="clip").fit(train_x, train_y).predict(x)


def baselines(
    train: pd.DataFrame, rows: pd.DataFrame, bi_train: np.ndarray, bi_rows: np.ndarray
) -> pd.DataFrame:
    """The two similarity baselines and the bi-encoder alone, each mapped to scores on `train` only."""
    y = train["score"].to_numpy()
    return pd.DataFrame(
        {
            "tfidf_isotonic": isotonic_scores(
                tfidf_similarity(train, train), y, tfidf_similarity(rows, train)
            ),
            "frozen_cosine_isotonic": isotonic_scores(
                train["frozen_cosine"].to_numpy(), y, rows["frozen_cosine"].to_numpy()
            ),
            "fine_tuned_bi_encoder": isotonic(bi_train, y, bi_rows),
        },
        index=rows.index,
    )


@dataclasses.dataclass
class Inputs:
    """What every unseen-question fold is fitted from (see `inputs`)."""

    rows: pd.DataFrame  # every row
    fitting: pd.DataFrame  # the fitting subset
    oof: pd.DataFrame  # out-of-fold encoder features from train_scorer
    vectors: RowVectors
    questions: QuestionSpace
    stack: StackRecipe


def unseen_question_fold(data: Inputs, fold: int, meta: dict) -> pd.DataFrame:
    """Every row of `fold` scored by a stacker (and baselines) fitted without that fold."""
    rows, fitting, oof, vectors, stack = data.rows, data.fitting, data.oof, data.vectors, data.stack
    train = fitting[[fold not in folds for folds in fitting["folds"]]]
    held = rows[rows["fold"] == fold]
    calibration = meta["stacker"]["calibration"]
    trees = fit_trees(
        train, oof, vectors, data.questions, stack, calibration["band_edges"], calibration["level"]
    )
    features = stack_features(held, oof, vectors, trees.vectorizer, None, data.questions)
    predicted = trees.stacker.predict(features)
    scored = held.assign(
        stacked=predicted["score"], low=predicted["low"], high=predicted["high"],
        stacked_off_topic=predicted["off_topic"],
    )  # fmt: skip
    answers = train[train["kind"] == "answer"]
    bi_train, bi_held = (
        oof.loc[answers.index, "bi_cosine"].to_numpy(),
        oof.loc[held.index, "bi_cosine"].to_numpy(),
    )
    return scored.join(baselines(answers, held, bi_train, bi_held))


def agreement(frame: pd.DataFrame, method: str, interval: tuple = (None, None)) -> dict:
    """`method`'s agreement with the human score, pooled and per question."""
    metrics = score_agreement(frame["score"].to_numpy(), frame[method].to_numpy(), *interval)
    metrics["per_question_pearson"] = round(float(per_question_pearson(frame, method).mean()), 4)
    return metrics


def summarise(frame: pd.DataFrame) -> dict[str, dict]:
    result = {}
    for method in METHODS:
        interval = (frame["low"], frame["high"]) if method == SHIPPED else (None, None)
        result[method] = agreement(frame, method, interval)
    metrics = score_agreement(frame["grader1"].to_numpy(), frame["grader2"].to_numpy())
    metrics["per_question_pearson"] = round(
        float(per_question_pearson(frame.assign(score=frame["grader1"]), "grader2").mean()), 4
    )
    result["human"] = metrics
    return result


def robustness(frame: pd.DataFrame, methods: Sequence[str] = METHODS) -> dict[str, dict]:
    """Per method: each robustness kind's mean score and share scored >= 2, and the references'."""
    out: dict[str, dict] = {}
    robust = frame[frame["kind"].str.startswith("robust:")]
    references = frame[frame["source"] == "augment:reference"]
    for method in methods:
        table = {
            kind.removeprefix("robust:"): {
                "mean": round(float(group[method].mean()), 3),
                "share_2_plus": round(float((group[method] >= 2).mean()), 3),
                "n": len(group),
            }
            for kind, group in robust.groupby("kind")
        }
        table["reference_answer"] = {
            "mean": round(float(references[method].mean()), 3),
            "share_4_5_plus": round(float((references[method] >= 4.5).mean()), 3),
            "n": len(references),
        }
        out[method] = table
    return out


def off_topic(frame: pd.DataFrame) -> dict:
    robust = frame[frame["kind"].str.startswith("robust:")]
    real = frame[frame["kind"] == "answer"]
    return {
        "flagged_share_by_kind": {
            k.removeprefix("robust:"): round(float(g["stacked_off_topic"].mean()), 3)
            for k, g in robust.groupby("kind")
        },
        "flagged_real_answers": round(float(real["stacked_off_topic"].mean()), 4),
        "flagged_real_answers_graded_2_plus": round(
            float(real.loc[real["score"] >= 2, "stacked_off_topic"].mean()), 4
        ),
        "flagged_references": round(
            float(frame.loc[frame["source"] == "augment:reference", "stacked_off_topic"].mean()), 4
        ),
    }


def goals(report: dict) -> dict:
    """Each goal of the scorer issue, with the value measured and whether it is met."""
    uq, ua, robust = report["uq"][SHIPPED], report["ua"][SHIPPED], report["robustness"][SHIPPED]
    kinds = [v for k, v in robust.items() if k != "reference_answer"]
    baseline_rmse = min(report["uq"][m]["rmse"] for m in ("tfidf_isotonic", "frozen_cosine_isotonic"))
    worst_mean, worst_share = max(v["mean"] for v in kinds), max(v["share_2_plus"] for v in kinds)
    reference = robust["reference_answer"]["mean"]

    def goal(value: float, target: float, met: bool) -> dict:
        return {"goal": target, "value": value, "met": met}

    return {
        "uq_pearson": goal(
            uq["pearson"], GOALS["uq_pearson_at_least"], uq["pearson"] >= GOALS["uq_pearson_at_least"]
        ),
        "uq_rmse_below_baselines": goal(uq["rmse"], baseline_rmse, uq["rmse"] < baseline_rmse),
        "ua_pearson": goal(
            ua["pearson"], GOALS["ua_pearson_at_least"], ua["pearson"] >= GOALS["ua_pearson_at_least"]
        ),
        "ua_rmse": goal(ua["rmse"], GOALS["ua_rmse_at_most"], ua["rmse"] <= GOALS["ua_rmse_at_most"]),
        "robust_worst_mean": goal(
            worst_mean, GOALS["robust_mean_at_most"], worst_mean <= GOALS["robust_mean_at_most"]
        ),
        "robust_worst_share_2_plus": goal(
            worst_share, GOALS["robust_share_2_plus_under"], worst_share < GOALS["robust_share_2_plus_under"]
        ),
        "reference_mean": goal(
            reference, GOALS["reference_mean_at_least"], reference >= GOALS["reference_mean_at_least"]
        ),
    }


def seen_answers(
    rows: pd.DataFrame, fitting: pd.DataFrame, oof: pd.DataFrame, model_dir: Path
) -> pd.DataFrame:
    """UA: the test answers scored by the trained scorer as served, and the baselines."""
    scorer = AnswerScorer(model_dir)
    test = rows[(rows["kind"] == "answer") & (rows["split"] == "test")].copy()
    features = scorer.features(test[["question_id", "question", "reference", "answer"]])
    predicted = scorer.stacker.predict(features)
    test = test.assign(stacked=predicted["score"], low=predicted["low"], high=predicted["high"],
                       stacked_off_topic=predicted["off_topic"])  # fmt: skip
    train = fitting[fitting["kind"] == "answer"]
    base = baselines(
        train, test, oof.loc[train.index, "bi_cosine"].to_numpy(), features["bi_cosine"].to_numpy()
    )
    return test.join(base)


def inputs(config: EvaluateScorerConfig, meta: dict) -> Inputs:
    """Every row, the fitting subset, the out-of-fold encoder features, the pretrained vectors and
    question space, and the stack recipe: what each unseen-question fold is fitted from."""
    from mockmentor.scorer.encoders import Encoders
    from mockmentor.scorer.network import load_encoder

    recipe = ScorerRecipe(**meta["recipe"])
    rows, fitting = load_rows(
        config.processed_dir, config.splits_dir, config.robustness_dir, recipe.negatives_per_question,
        recipe.augment_reference, recipe.seed,
    )  # fmt: skip
    oof = pd.read_parquet(config.folds_features).set_index("id")
    missing = rows.index.difference(oof.index)
    if len(missing):
        raise FileNotFoundError(
            f"{config.folds_features} lacks {len(missing)} rows; run `dvc repro train_scorer`"
        )
    # The pretrained encoder's features never saw a label: computed once, shared by every fold.
    rows["frozen_cosine"] = oof.loc[rows.index, "frozen_cosine"]
    pretrained, tokenizer = load_encoder(resolve(config.encoder))
    encoders = Encoders(pretrained, tokenizer, recipe.freeze_layers, recipe.max_length)
    return Inputs(
        rows, rows.loc[fitting.index], oof[ENCODER_FEATURES], row_vectors(encoders, rows),
        question_space(encoders, all_questions(config.processed_dir)), StackRecipe(**meta["stack"]),
    )  # fmt: skip


def main(config_path: Path = Path("configs/scorer.yaml")) -> dict:
    config = load_section(config_path, "evaluate_scorer", EvaluateScorerConfig)
    meta = json.loads((config.model_dir / "scorer.json").read_text())
    data = inputs(config, meta)
    rows = data.rows
    frames = {"ua": seen_answers(rows, data.fitting, data.oof, config.model_dir)}
    folds = [
        unseen_question_fold(data, fold, meta)
        for fold in tqdm(sorted(rows.loc[rows["kind"] == "answer", "fold"].unique()), desc="UQ folds")
        if fold >= 0
    ]
    pooled = pd.concat(folds)
    frames["uq"] = pooled[pooled["kind"] == "answer"]
    report = {
        "ua": summarise(frames["ua"]),
        "uq": summarise(frames["uq"]),
        "robustness": robustness(pooled),
        "off_topic": off_topic(pooled),
        "scorer": {"variant": meta["variant"], "what": meta["what"], "val": meta["validation"]},
    }
    report["goals"] = goals(report)
    config.metrics.parent.mkdir(parents=True, exist_ok=True)
    config.metrics.write_text(json.dumps(report, indent=2) + "\n")
    # The scores a live interview gives on a question the scorer never saw: the interviewer's
    # evaluation plans its verdicts from them.
    config.uq_predictions.parent.mkdir(parents=True, exist_ok=True)
    frames["uq"][UQ_PREDICTION_COLUMNS].sort_index().to_parquet(config.uq_predictions)
    pictures = scorer_plots.all_plots(frames, pooled, report, METHODS, SHIPPED, config.plots_dir)

    import mlflow

    from mockmentor.tracking import flatten, stage_run

    with stage_run("evaluate_scorer", asdict(config) | {"recipe": json.dumps(meta["recipe"])}):
        mlflow.log_metrics(flatten({k: report[k] for k in ("ua", "uq", "robustness", "off_topic")}))
        mlflow.log_artifact(str(config.metrics))
        for path in pictures:
            mlflow.log_artifact(str(path), "plots")
    return report
