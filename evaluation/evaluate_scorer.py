"""DVC stage `evaluate_scorer`: every scorer against human graders, on the same rows.

Reads only the `evaluate_scorer` section of configs/scorer.yaml. Two protocols:
  UA  unseen answers: the trained scorer on the test answers of questions seen in training;
  UQ  unseen questions: per question fold, the scorer is retrained (same recipe) on the
      other folds and scores the held-out questions; predictions are pooled over folds.
Methods: TF-IDF cosine + isotonic, frozen bi-encoder cosine + isotonic, the fine-tuned
scorer, and grader 1 vs grader 2 (the human reference). Writes the metrics file (a DVC
metric), three plots per protocol, and one MLflow run with all of them.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, field
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic.dataclasses import dataclass
from scipy.stats import pearsonr
from tqdm import tqdm

from mockmentor.config import STRICT, load_section
from mockmentor.metrics import score_agreement
from mockmentor.model_assets import resolve
from mockmentor.scorer.fitting import ScorerRecipe, train_and_calibrate
from mockmentor.scorer.pairs import load_pairs
from mockmentor.scorer.scorer import AnswerScorer

from . import scorer_plots
from .scorer_baselines import biencoder_similarity, isotonic_scores, tfidf_similarity


@dataclass(config=STRICT)
class EvaluateScorerConfig:
    processed_dir: Path = field(metadata={"help": "records written by `prepare`"})
    splits_dir: Path = field(metadata={"help": "splits written by `prepare`"})
    model_dir: Path = field(metadata={"help": "the scorer written by `train_scorer`"})
    encoder: str = field(metadata={"help": "pretrained encoder for the bi-encoder baseline"})
    metrics: Path = field(metadata={"help": "output metrics (a DVC metric)"})
    plots_dir: Path = field(metadata={"help": "output folder for plots"})
    retrain_unseen_questions: bool = field(metadata={"help": "run the UQ protocol (retrains per fold)"})


def per_question_pearson(frame: pd.DataFrame, column: str) -> pd.Series:
    """Pearson r within each question (NaN where a question's human scores are all equal)."""

    def within(group: pd.DataFrame) -> float:
        if group["score"].nunique() < 2 or group[column].nunique() < 2:
            return float("nan")
        return float(pearsonr(group["score"], group[column])[0])

    return frame.groupby("question_id")[["score", column]].apply(within)


def learned_key(architecture: str) -> str:
    return {"cross": "cross_encoder", "siamese": "siamese_encoder"}[architecture]


def baselines(train: pd.DataFrame, test: pd.DataFrame) -> dict[str, np.ndarray]:
    """Both similarity baselines, mapped to scores on `train` only (`bi_cosine` precomputed)."""
    y = train["score"].to_numpy()
    tfidf_train, tfidf_test = tfidf_similarity(train, train), tfidf_similarity(test, train)
    return {
        "tfidf": isotonic_scores(tfidf_train, y, tfidf_test),
        "biencoder": isotonic_scores(train["bi_cosine"].to_numpy(), y, test["bi_cosine"].to_numpy()),
    }


def add_predictions(frame: pd.DataFrame, scorer: AnswerScorer, learned: str) -> None:
    """The scorer's calibrated score (column `learned`) and interval (`low`, `high`) for each row."""
    frame[learned] = scorer.calibration.score(scorer.raw(frame))
    frame["low"], frame["high"] = scorer.calibration.interval(frame[learned].to_numpy())


def summarise(frame: pd.DataFrame, methods: list[str], learned: str) -> dict[str, dict]:
    human = frame["score"].to_numpy()
    result = {}
    for method in methods:
        interval = (frame["low"], frame["high"]) if method == learned else (None, None)
        metrics = score_agreement(human, frame[method].to_numpy(), *interval)
        metrics["per_question_pearson"] = round(float(per_question_pearson(frame, method).mean()), 4)
        result[method] = metrics
    # The human reference: grader 1 against grader 2 on the very same rows.
    metrics = score_agreement(frame["grader1"].to_numpy(), frame["grader2"].to_numpy())
    metrics["per_question_pearson"] = round(
        float(per_question_pearson(frame.assign(score=frame["grader1"]), "grader2").mean()), 4
    )
    result["human"] = metrics
    return result


def plots(frame: pd.DataFrame, methods: list[str], learned: str, folder: Path, protocol: str) -> list[Path]:
    paths = [folder / f"{protocol}_{name}.png" for name in ("scatter", "calibration", "per_question_error")]
    title = {"ua": "unseen answers (test)", "uq": "unseen questions (pooled folds)"}[protocol]
    scorer_plots.scatter(frame, methods, paths[0], title)
    scorer_plots.calibration(frame, methods, paths[1], title)
    scorer_plots.per_question_error(frame, learned, paths[2], f"{learned}: RMSE per question, {title}")
    return paths


def main(config_path: Path = Path("configs/scorer.yaml")) -> dict:
    config = load_section(config_path, "evaluate_scorer", EvaluateScorerConfig)
    pairs = load_pairs(config.processed_dir, config.splits_dir)
    encoder_dir = resolve(config.encoder)
    # The frozen bi-encoder never sees labels, so its cosines are computed once for all rows.
    pairs["bi_cosine"] = biencoder_similarity(pairs, encoder_dir)
    meta = json.loads((config.model_dir / "scorer.json").read_text())
    recipe = ScorerRecipe(**meta["recipe"])
    learned = learned_key(recipe.architecture)
    methods = ["tfidf", "biencoder", learned]

    # UA: the trained scorer, baselines fitted on the same training answers.
    train, test = pairs[pairs["split"] == "train"], pairs[pairs["split"] == "test"].copy()
    add_predictions(test, AnswerScorer(config.model_dir), learned)
    for name, values in baselines(train, test).items():
        test[name] = values
    report = {"ua": summarise(test, methods, learned)}
    frames = {"ua": test}

    if config.retrain_unseen_questions:
        folds = []
        for fold in tqdm(sorted(pairs["fold"].unique()), desc="UQ folds (retraining the scorer)"):
            held_out = pairs[pairs["fold"] == fold].copy()
            rest = pairs[pairs["fold"] != fold]
            fold_train, fold_val = rest[rest["split"] == "train"], rest[rest["split"] == "val"]
            with tempfile.TemporaryDirectory() as folder:
                train_and_calibrate(
                    fold_train,
                    fold_val,
                    recipe,
                    encoder=meta["encoder"],
                    band_edges=meta["calibration"]["band_edges"],
                    interval_level=meta["calibration"]["level"],
                    output_dir=Path(folder),
                )
                add_predictions(held_out, AnswerScorer(Path(folder)), learned)
            for name, values in baselines(rest, held_out).items():
                held_out[name] = values
            folds.append(held_out)
        frames["uq"] = pd.concat(folds)
        report["uq"] = summarise(frames["uq"], methods, learned)

    report["scorer"] = {"architecture": recipe.architecture, "key": learned, "val": meta["validation"]}
    config.metrics.parent.mkdir(parents=True, exist_ok=True)
    config.metrics.write_text(json.dumps(report, indent=2) + "\n")
    config.plots_dir.mkdir(parents=True, exist_ok=True)
    pictures = [
        path
        for protocol, frame in frames.items()
        for path in plots(frame, methods, learned, config.plots_dir, protocol)
    ]

    import mlflow

    from mockmentor.tracking import flatten, stage_run

    with stage_run("evaluate_scorer", asdict(config) | {"recipe": json.dumps(meta["recipe"])}):
        mlflow.log_metrics(flatten({k: v for k, v in report.items() if k in ("ua", "uq")}))
        mlflow.log_artifact(str(config.metrics))
        for path in pictures:
            mlflow.log_artifact(str(path), "plots")
    return report
