"""Fitting the scorer's encoders: one recipe, the transformers Trainer, cached lower layers.

`fit_encoder` fine-tunes the top of the encoder, either as a bi-encoder (cosine of reference
and answer) or as a cross-encoder (one pass over the pair), on rows of (reference, answer,
score). With `states` given it trains from cached lower-layer states (frozen.py): the same
model, several times faster. `fold_encoders` fits one encoder per unseen-question fold
(trained without that fold's questions) plus one on everything: each row's out-of-fold
output comes from a model that never saw its question, which the stacker trains on and the
unseen-question evaluation scores with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
from pydantic.dataclasses import dataclass
from torch import nn

from mockmentor.config import STRICT

from .frozen import CachedCross, CachedSiamese, LowerStates
from .network import MAX_SCORE, PairCollator, build


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


def _arguments(recipe: ScorerRecipe, work_dir: Path) -> Any:
    from transformers import TrainingArguments

    return TrainingArguments(
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
        disable_tqdm=True,
    )


def pair_inputs(rows: pd.DataFrame, architecture: str) -> list[Any]:
    """What the lower-layer cache is keyed by: texts (bi-encoder) or (reference, answer) pairs."""
    if architecture == "siamese":
        return list(rows["reference"]) + list(rows["answer"])
    return list(zip(rows["reference"], rows["answer"], strict=True))


def fit_encoder(
    rows: pd.DataFrame,
    recipe: ScorerRecipe,
    encoder_dir: Path,
    work_dir: Path,
    states: LowerStates | None = None,
) -> tuple[nn.Module, Any, list]:
    """Fine-tune on `rows` (reference, answer, score); returns the model, tokenizer and loss
    history. Frozen layers never drop out; with `states` only the top layers run."""
    from datasets import Dataset
    from transformers import Trainer, set_seed

    set_seed(recipe.seed)
    model, tokenizer = build(encoder_dir, recipe.architecture, recipe.freeze_layers)
    labels = (rows["score"] / MAX_SCORE).to_numpy(dtype=np.float32)
    if states is None:
        data = Dataset.from_dict(
            {"reference": list(rows["reference"]), "answer": list(rows["answer"]), "label": labels}
        )
        # Each batch padded to its longest input, as the cached path trims its batches: the top
        # layers' dropout then draws on tensors of the same shape, so both fits are the same fit.
        trained, collator = model, PairCollator(tokenizer, recipe.architecture, recipe.max_length)
    elif recipe.architecture == "siamese":
        data = Dataset.from_dict(
            {
                "reference": states.rows(rows["reference"]).tolist(),
                "answer": states.rows(rows["answer"]).tolist(),
                "labels": labels,
            }
        )
        trained, collator = CachedSiamese(model.encoder, states), None
    else:
        pairs = list(zip(rows["reference"], rows["answer"], strict=True))
        data = Dataset.from_dict({"pair": states.rows(pairs).tolist(), "labels": labels})
        trained, collator = CachedCross(model.encoder, model.head, states), None
    trainer = Trainer(
        model=trained, args=_arguments(recipe, work_dir), train_dataset=data, data_collator=collator
    )
    trainer.train()
    model.eval()
    return model, tokenizer, [entry for entry in trainer.state.log_history if "loss" in entry]


def fold_encoders(
    rows: pd.DataFrame,
    recipe: ScorerRecipe,
    encoder_dir: Path,
    work_dir: Path,
    states: LowerStates,
    score_rows: Callable[[nn.Module, pd.DataFrame], pd.DataFrame],
    everything: pd.DataFrame,
) -> tuple[pd.DataFrame, nn.Module, Any, list]:
    """Out-of-fold outputs for every row of `everything`, and the encoder fitted on all `rows`.

    `rows` (with `fold` and `folds`, see pairs.scorer_rows) are the fitting rows; `everything`
    (with `fold`) every row to score; `score_rows(model, frame)` turns a fitted model into
    per-row outputs.
    """
    from tqdm import tqdm

    out = []
    for fold in tqdm(sorted(everything["fold"].unique()), desc="encoders per unseen-question fold"):
        without = rows[[fold not in folds for folds in rows["folds"]]]
        model, _, _ = fit_encoder(without, recipe, encoder_dir, work_dir, states)
        out.append(score_rows(model, everything[everything["fold"] == fold]).assign(fold_model=fold))
        del model
    model, tokenizer, history = fit_encoder(rows, recipe, encoder_dir, work_dir, states)
    return pd.concat(out).loc[everything.index], model, tokenizer, history
