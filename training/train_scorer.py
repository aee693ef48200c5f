"""DVC stage `train_scorer`: the stacked answer scorer, fitted on human scores (UA train split).

Reads only the `train_scorer` section of configs/scorer.yaml. Fits (mockmentor/scorer/stacked.py)
a bi-encoder per unseen-question fold and one on every training answer, the gradient-boosted
trees over the features with their out-of-fold calibration and intervals, and the off-topic
detector, then writes
  models/scorer/                            the scorer (see mockmentor/scorer/scorer.py)
  training/features/scorer_folds.parquet    every row's out-of-fold encoder features, which
                                            `evaluate_scorer` scores the unseen questions with
  training/metrics/scorer_train.json        validation agreement (UA val answers), timings, counts
and logs one MLflow run that registers `answer-scorer`, promoting it to `champion` only when
its validation Pearson beats the current champion's. Fitting rows: the UA training answers,
the candidates' own grades (training only), the robustness set of every question, and the
augmentation (reference as full marks, other questions' answers as zero).
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, field
from pathlib import Path

import pandas as pd
from pydantic.dataclasses import dataclass

from mockmentor.config import STRICT, load_section
from mockmentor.metrics import score_agreement
from mockmentor.model_assets import resolve
from mockmentor.scorer.fitting import ScorerRecipe
from mockmentor.scorer.pairs import all_questions, load_collected, load_rows
from mockmentor.scorer.stacked import fit_stacked_scorer
from mockmentor.scorer.stacker import StackRecipe


@dataclass(config=STRICT)
class TrainScorerConfig:
    processed_dir: Path = field(metadata={"help": "records written by `prepare`"})
    splits_dir: Path = field(metadata={"help": "splits written by `prepare`"})
    robustness_dir: Path = field(metadata={"help": "answers that do not answer, from `build_robustness`"})
    output_dir: Path = field(metadata={"help": "where the trained scorer is written"})
    folds_output: Path = field(
        metadata={"help": "out-of-fold encoder features of every row (for evaluation)"}
    )
    metrics: Path = field(metadata={"help": "validation metrics (a DVC metric)"})
    encoder: str = field(metadata={"help": "pretrained encoder, a name in configs/models.yaml"})
    interval_level: float = field(metadata={"help": "nominal coverage of the interval"})
    band_edges: list[float] = field(metadata={"help": "score bands with their own interval width"})
    register_as: str = field(metadata={"help": "MLflow registered model name"})
    recipe: ScorerRecipe = field(metadata={"help": "the bi-encoder's fine-tuning"})
    stack: StackRecipe = field(metadata={"help": "the trees, calibration folds and off-topic budget"})
    collected_answers: Path | None = field(
        default=None, metadata={"help": "candidates' own grades from `collect_ratings` (training only)"}
    )

    def __post_init__(self) -> None:
        if not 0.5 <= self.interval_level < 1:
            raise ValueError("interval_level must be within [0.5, 1)")
        if self.band_edges != sorted(self.band_edges):
            raise ValueError("band_edges must be increasing")
        if self.recipe.architecture != "siamese":
            raise ValueError(
                "the stacked scorer's encoder is a bi-encoder: recipe.architecture must be siamese"
            )


# Nothing here reads test rows' scores: the test split belongs to `evaluate_scorer`.
def main(config_path: Path = Path("configs/scorer.yaml")) -> dict:
    config = load_section(config_path, "train_scorer", TrainScorerConfig)
    collected, collected_counts = load_collected(config.collected_answers, config.processed_dir)
    recipe = config.recipe
    rows, fitting = load_rows(
        config.processed_dir, config.splits_dir, config.robustness_dir, recipe.negatives_per_question,
        recipe.augment_reference, recipe.seed, collected,
    )  # fmt: skip
    started = time.perf_counter()
    fitted = fit_stacked_scorer(
        rows, fitting, all_questions(config.processed_dir), resolve(config.encoder), config.recipe,
        config.stack, config.band_edges, config.interval_level,
    )  # fmt: skip
    seconds = round(time.perf_counter() - started, 1)
    shutil.rmtree(config.output_dir, ignore_errors=True)
    meta = fitted.save(
        config.output_dir,
        {
            "variant": "stacked",
            "what": "gradient-boosted trees over a fine-tuned bi-encoder's cosine, the pretrained "
            "encoder's cosines, lexical overlap and graded-answer neighbours (no cross-encoder)",
            "encoder": config.encoder,
            "recipe": asdict(config.recipe),
            "stack": asdict(config.stack),
            "fitting_rows": {
                k: int(v) for k, v in fitting["kind"].str.split(":").str[0].value_counts().items()
            },
            "train_seconds": seconds,
            "loss_history": fitted.history,
        },
    )
    config.folds_output.parent.mkdir(parents=True, exist_ok=True)
    fitted.out_of_fold.rename_axis("id").reset_index().to_parquet(config.folds_output, index=False)

    from mockmentor.scorer.scorer import AnswerScorer

    val = rows[(rows["kind"] == "answer") & (rows["split"] == "val")]
    results = AnswerScorer(config.output_dir).score(val[["question_id", "question", "reference", "answer"]]
                                                    .to_dict("records"))  # fmt: skip
    predicted = pd.DataFrame([r.model_dump(exclude={"evidence"}) for r in results])
    metrics = score_agreement(
        val["score"].to_numpy(), predicted["score"], predicted["low"], predicted["high"]
    )
    metrics |= meta["stacker"]["diagnostics"] | {"train_seconds": seconds}
    metrics |= {f"collected_{name}": count for name, count in collected_counts.items()}
    meta["validation"] = metrics
    (config.output_dir / "scorer.json").write_text(json.dumps(meta, indent=2) + "\n")
    config.metrics.parent.mkdir(parents=True, exist_ok=True)
    config.metrics.write_text(json.dumps({"val": metrics}, indent=2) + "\n")
    _track(config, metrics, meta)
    return {"val": metrics}


def _track(config: TrainScorerConfig, metrics: dict, meta: dict) -> None:
    import mlflow

    from mockmentor.registry import register
    from mockmentor.scorer.pyfunc import ScorerPyfunc
    from mockmentor.tracking import flatten, stage_run

    params = asdict(config) | {f"recipe.{k}": v for k, v in asdict(config.recipe).items()}
    with stage_run("train_scorer", params | {f"stack.{k}": v for k, v in asdict(config.stack).items()}):
        mlflow.log_metrics(flatten({"val": {k: v for k, v in metrics.items() if v is not None}}))
        for entry in meta["loss_history"]:
            mlflow.log_metric("train.loss", entry["loss"], step=int(entry["step"]))
        mlflow.log_artifact(str(config.output_dir / "scorer.json"))
        registration = register(
            config.register_as, config.output_dir, ScorerPyfunc(), "val_pearson", metrics["pearson"]
        )
    print(
        f"registered {config.register_as} v{registration.version}; champion: "
        f"{'this version' if registration.promoted else f'v{registration.previous_champion} kept'}"
    )
