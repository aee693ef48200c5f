"""Fitting the answer scorer: the recipe, the Trainer loop, calibration and saving.

The stage `train_scorer` fits on the UA training answers; `evaluate_scorer` fits the same
recipe once per unseen-question fold. Both call `train_and_calibrate`.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import asdict, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import torch
from pydantic.dataclasses import dataclass
from torch import nn

from mockmentor.config import STRICT
from mockmentor.metrics import score_agreement
from mockmentor.model_assets import resolve

from .calibration import fit_calibration
from .network import MAX_SCORE, PairCollator, build, predict_raw, save
from .pairs import augment

CALIBRATION_ROWS = 500


@dataclass(config=STRICT)
class ScorerRecipe:
    architecture: Literal["cross", "siamese"] = field(metadata={"help": "how reference and answer meet"})
    max_length: int = field(metadata={"help": "tokens per input (per side for siamese)"})
    learning_rate: float = field(metadata={"help": "peak AdamW learning rate"})
    epochs: float = field(metadata={"help": "passes over the (augmented) training rows"})
    batch_size: int = field(metadata={"help": "rows per optimisation step"})
    warmup_ratio: float = field(default=0.1, metadata={"help": "share of steps with rising LR"})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay"})
    freeze_layers: int = field(default=0, metadata={"help": "lower encoder layers kept frozen"})
    augment_reference: bool = field(default=True, metadata={"help": "reference answer as a 5"})
    negatives_per_question: int = field(default=0, metadata={"help": "other-question answers as 0"})
    seed: int = field(default=0, metadata={"help": "seed of init, shuffling and augmentation"})
    max_steps: int = field(default=-1, metadata={"help": "stop after this many steps (tests)"})

    def __post_init__(self) -> None:
        if not 16 <= self.max_length <= 512:
            raise ValueError("max_length must be within 16..512")
        if self.learning_rate <= 0 or self.epochs <= 0 or self.batch_size < 1:
            raise ValueError("learning_rate and epochs must be positive, batch_size at least 1")
        if not 0 <= self.freeze_layers <= 6:
            raise ValueError("freeze_layers must be within 0..6 (the encoder has 6 layers)")


def fit(
    rows: pd.DataFrame, recipe: ScorerRecipe, encoder_dir: Path, work_dir: Path
) -> tuple[nn.Module, Any, list]:
    """Fine-tune on `rows` (reference, answer, score); returns model, tokenizer, loss history."""
    from datasets import Dataset
    from transformers import Trainer, TrainingArguments, set_seed

    set_seed(recipe.seed)
    model, tokenizer = build(encoder_dir, recipe.architecture, recipe.freeze_layers)
    data = Dataset.from_pandas(
        rows.assign(label=rows["score"] / MAX_SCORE)[["reference", "answer", "label"]], preserve_index=False
    )
    arguments = TrainingArguments(
        output_dir=str(work_dir),
        per_device_train_batch_size=recipe.batch_size,
        learning_rate=recipe.learning_rate,
        num_train_epochs=recipe.epochs,
        max_steps=recipe.max_steps,
        warmup_steps=recipe.warmup_ratio,
        weight_decay=recipe.weight_decay,
        lr_scheduler_type="linear",
        seed=recipe.seed,
        data_seed=recipe.seed,
        use_cpu=not torch.cuda.is_available(),
        logging_steps=10,
        save_strategy="no",
        report_to=[],
        remove_unused_columns=False,
        dataloader_num_workers=0,
        disable_tqdm=False,
    )
    trainer = Trainer(
        model=model,
        args=arguments,
        train_dataset=data,
        data_collator=PairCollator(tokenizer, recipe.architecture, recipe.max_length),
    )
    trainer.train()
    model.eval()
    return model, tokenizer, [entry for entry in trainer.state.log_history if "loss" in entry]


def training_rows(train: pd.DataFrame, recipe: ScorerRecipe) -> pd.DataFrame:
    rows = augment(train, recipe.negatives_per_question, recipe.seed)
    if not recipe.augment_reference:
        rows = rows[rows["source"] != "augment:reference"]
    return rows.reset_index(drop=True)


def train_and_calibrate(
    train: pd.DataFrame,
    val: pd.DataFrame,
    recipe: ScorerRecipe,
    *,
    encoder: str,
    band_edges: list[float],
    interval_level: float,
    output_dir: Path,
) -> dict | None:
    """Fit, calibrate and save one scorer to `output_dir`; returns what it wrote to scorer.json
    (None in the other processes of an `accelerate launch`: one process calibrates and saves)."""
    from accelerate import PartialState

    encoder_dir = resolve(encoder)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as work:
        model, tokenizer, history = fit(training_rows(train, recipe), recipe, encoder_dir, Path(work))
    seconds = round(time.perf_counter() - started, 1)
    if not PartialState().is_main_process:
        return None
    # A two-parameter linear map needs a few hundred rows, not every training answer.
    calibration_rows = train.sample(min(len(train), CALIBRATION_ROWS), random_state=recipe.seed)
    raw_train = predict_raw(model, tokenizer, calibration_rows, recipe.architecture, recipe.max_length)
    raw_val = predict_raw(model, tokenizer, val, recipe.architecture, recipe.max_length)
    calibration = fit_calibration(
        raw_train,
        calibration_rows["score"].to_numpy(),
        raw_val,
        val["score"].to_numpy(),
        band_edges,
        interval_level,
    )
    score_val = calibration.score(raw_val)
    metrics = score_agreement(val["score"].to_numpy(), score_val, *calibration.interval(score_val))
    output_dir.mkdir(parents=True, exist_ok=True)
    save(model, tokenizer, output_dir)
    meta = {
        "recipe": asdict(recipe),
        "calibration": asdict(calibration),
        "encoder": encoder,
        "train_rows": len(train),
        "validation": metrics,
        "train_seconds": seconds,
        "loss_history": history,
    }
    (output_dir / "scorer.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta
