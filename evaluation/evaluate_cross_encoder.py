"""DVC stage `evaluate_cross_encoder`: a true cross-encoder, measured on the shipped scorer's protocols.

Reads only the `evaluate_cross_encoder` section of configs/scorer.yaml. The cross-encoder reads
"reference [SEP] answer" in one pass and regresses the score; its top layers are fine-tuned on
exactly the stacked scorer's fitting rows (UA training answers, robustness set, augmentation),
with the lower layers cached per pair (mockmentor/scorer/frozen.py). One model per
unseen-question fold gives the UQ predictions and one on everything the UA predictions, each
calibrated by isotonic regression on out-of-fold outputs of the training answers. Writes
evaluation/metrics/cross_encoder.json (UA, UQ, robustness) beside the shipped scorer's, so the
choice of variant is made on the same rows.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, field
from pathlib import Path

import pandas as pd
import torch
from pydantic.dataclasses import dataclass

from mockmentor.config import STRICT, load_section
from mockmentor.model_assets import resolve
from mockmentor.scorer.fitting import ScorerRecipe, fold_encoders, pair_inputs
from mockmentor.scorer.frozen import CachedCross, lower_states
from mockmentor.scorer.network import load_encoder
from mockmentor.scorer.pairs import load_rows

from .evaluate_scorer import agreement, isotonic, robustness


@dataclass(config=STRICT)
class EvaluateCrossEncoderConfig:
    processed_dir: Path = field(metadata={"help": "records written by `prepare`"})
    splits_dir: Path = field(metadata={"help": "splits written by `prepare`"})
    robustness_dir: Path = field(metadata={"help": "answers that do not answer, from `build_robustness`"})
    encoder: str = field(metadata={"help": "pretrained encoder, a name in configs/models.yaml"})
    metrics: Path = field(metadata={"help": "output metrics (a DVC metric)"})
    recipe: ScorerRecipe = field(metadata={"help": "the cross-encoder's fine-tuning"})

    def __post_init__(self) -> None:
        if self.recipe.architecture != "cross":
            raise ValueError("recipe.architecture must be cross")


def outputs(model: torch.nn.Module, states: object, frame: pd.DataFrame) -> pd.DataFrame:
    cached = CachedCross(model.encoder, model.head, states).eval()  # type: ignore[arg-type]
    pairs = list(zip(frame["reference"], frame["answer"], strict=True))
    with torch.inference_mode():
        rows = states.rows(pairs)  # type: ignore[attr-defined]
        raw = torch.cat([cached(rows[i : i + 128])["logits"] for i in range(0, len(rows), 128)]).numpy()
    return pd.DataFrame({"raw": raw}, index=frame.index)


def main(config_path: Path = Path("configs/scorer.yaml")) -> dict:
    config = load_section(config_path, "evaluate_cross_encoder", EvaluateCrossEncoderConfig)
    recipe = config.recipe
    rows, fitting = load_rows(
        config.processed_dir, config.splits_dir, config.robustness_dir, recipe.negatives_per_question,
        recipe.augment_reference, recipe.seed,
    )  # fmt: skip
    encoder_dir = resolve(config.encoder)
    pretrained, tokenizer = load_encoder(encoder_dir)
    states = lower_states(
        pretrained, tokenizer, pair_inputs(rows, "cross"), recipe.freeze_layers, recipe.max_length
    )
    with tempfile.TemporaryDirectory() as work:
        oof, final, _, _ = fold_encoders(
            fitting, recipe, encoder_dir, Path(work), states, lambda m, f: outputs(m, states, f), rows
        )
    answers = fitting[fitting["kind"] == "answer"]
    test = rows[(rows["kind"] == "answer") & (rows["split"] == "test")]
    ua = test.assign(
        cross_encoder=isotonic(
            oof.loc[answers.index, "raw"], answers["score"], outputs(final, states, test)["raw"]
        )
    )
    pooled = []
    for fold in sorted(f for f in rows["fold"].unique() if f >= 0):
        train = answers[[fold not in folds for folds in answers["folds"]]]
        held = rows[rows["fold"] == fold]
        scored = isotonic(oof.loc[train.index, "raw"], train["score"], oof.loc[held.index, "raw"])
        pooled.append(held.assign(cross_encoder=scored))
    uq = pd.concat(pooled)
    report = {
        "ua": {"cross_encoder": agreement(ua, "cross_encoder")},
        "uq": {"cross_encoder": agreement(uq[uq["kind"] == "answer"], "cross_encoder")},
        "robustness": robustness(uq, ["cross_encoder"]),
        "recipe": asdict(recipe),
    }
    config.metrics.parent.mkdir(parents=True, exist_ok=True)
    config.metrics.write_text(json.dumps(report, indent=2) + "\n")

    import mlflow

    from mockmentor.tracking import flatten, stage_run

    with stage_run("evaluate_cross_encoder", asdict(config)):
        mlflow.log_metrics(flatten({k: report[k] for k in ("ua", "uq", "robustness")}))
        mlflow.log_artifact(str(config.metrics))
    return report
