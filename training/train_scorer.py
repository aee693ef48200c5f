"""DVC stage `train_scorer`: fine-tune the answer scorer on human scores (UA train split).

Reads only the `train_scorer` section of configs/scorer.yaml. Fits the network on the
training answers (plus augmentation), the calibration on the same rows and the conformal
interval on the validation answers, then writes
  models/scorer/                         encoder, tokenizer, scorer.json (recipe, calibration)
  training/metrics/scorer_train.json     validation agreement and training time
and logs one MLflow run that registers `answer-scorer`, promoting it to `champion` only
when its validation Pearson beats the current champion's.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, field
from pathlib import Path

import pandas as pd
from pydantic.dataclasses import dataclass

from mockmentor.config import STRICT, load_section
from mockmentor.scorer.fitting import ScorerRecipe, train_and_calibrate
from mockmentor.scorer.pairs import load_collected, load_pairs


@dataclass(config=STRICT)
class TrainScorerConfig:
    processed_dir: Path = field(metadata={"help": "records written by `prepare`"})
    splits_dir: Path = field(metadata={"help": "splits written by `prepare`"})
    output_dir: Path = field(metadata={"help": "where the trained scorer is written"})
    metrics: Path = field(metadata={"help": "validation metrics (a DVC metric)"})
    encoder: str = field(metadata={"help": "pretrained encoder, a name in configs/models.yaml"})
    interval_level: float = field(metadata={"help": "nominal coverage of the interval"})
    band_edges: list[float] = field(metadata={"help": "score bands with their own interval width"})
    register_as: str = field(metadata={"help": "MLflow registered model name"})
    recipe: ScorerRecipe = field(metadata={"help": "network and optimisation settings"})
    collected_answers: Path | None = field(
        default=None, metadata={"help": "candidates' own grades from `collect_ratings` (training only)"}
    )

    def __post_init__(self) -> None:
        if not 0.5 <= self.interval_level < 1:
            raise ValueError("interval_level must be within [0.5, 1)")
        if self.band_edges != sorted(self.band_edges):
            raise ValueError("band_edges must be increasing")


# Nothing here reads test rows: the test split belongs to `evaluate_scorer`.
def main(config_path: Path = Path("configs/scorer.yaml")) -> dict:
    config = load_section(config_path, "train_scorer", TrainScorerConfig)
    pairs = load_pairs(config.processed_dir, config.splits_dir)
    train, val = pairs[pairs["split"] == "train"], pairs[pairs["split"] == "val"]
    collected, collected_counts = load_collected(config.collected_answers, config.processed_dir)
    if len(collected):
        train = pd.concat([train, collected], ignore_index=True)
    shutil.rmtree(config.output_dir, ignore_errors=True)
    meta = train_and_calibrate(
        train,
        val,
        config.recipe,
        encoder=config.encoder,
        band_edges=config.band_edges,
        interval_level=config.interval_level,
        output_dir=config.output_dir,
    )
    if meta is None:
        return {}
    metrics = (
        meta["validation"]
        | {"train_seconds": meta["train_seconds"]}
        | {f"collected_{name}": count for name, count in collected_counts.items()}
    )
    config.metrics.parent.mkdir(parents=True, exist_ok=True)
    config.metrics.write_text(json.dumps({"val": metrics}, indent=2) + "\n")

    import mlflow

    from mockmentor.registry import register
    from mockmentor.scorer.pyfunc import ScorerPyfunc
    from mockmentor.tracking import flatten, stage_run

    with stage_run(
        "train_scorer", asdict(config) | {f"recipe.{k}": v for k, v in asdict(config.recipe).items()}
    ):
        mlflow.log_metrics(flatten({"val": metrics}))
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
    return {"val": metrics}
