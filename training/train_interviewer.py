"""DVC stage `train_interviewer`: LoRA fine-tune of the interviewer LLM on dialogue turns.

Reads only the `train_interviewer` section of configs/interviewer.yaml and writes
  models/interviewer/adapter/            the LoRA adapter (peft)
  models/interviewer/interviewer.gguf    the merged model for llama.cpp (base GGUF + deltas)
  models/interviewer/interviewer.json    recipe, base model, coverage rule, losses, timings
  training/metrics/interviewer_train.json   validation loss/perplexity, base vs tuned
and logs one MLflow run that registers `interviewer`, promoting it to `champion` only when
its validation loss beats the current champion's.

The merged model is kept as GGUF only: the transformers reference path rebuilds it from the
packaged base and the adapter in a second, so no 0.5 GB float32 copy is stored or logged.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
import time
from dataclasses import asdict, field
from pathlib import Path

from pydantic.dataclasses import dataclass

from mockmentor.config import STRICT, load_section
from mockmentor.interviewer.coverage import CoverageRule
from mockmentor.interviewer.decoding import InterviewerFiles
from mockmentor.interviewer.gguf_export import QTYPES, export_gguf, merged_lora_weights
from mockmentor.interviewer.lora import (
    LoraRecipe,
    encode_examples,
    fit,
    load_base,
    read_examples,
    target_loss,
)
from mockmentor.model_assets import sha256_of


@dataclass(config=STRICT)
class TrainInterviewerConfig:
    dialogues_dir: Path = field(metadata={"help": "train.jsonl / val.jsonl from `build_dialogues`"})
    output_dir: Path = field(metadata={"help": "where adapter, GGUF and interviewer.json are written"})
    metrics: Path = field(metadata={"help": "validation metrics (a DVC metric)"})
    base: str = field(metadata={"help": "base chat model, a name in configs/models.yaml"})
    gguf_type: str = field(metadata={"help": f"type of the tensors LoRA changed in the GGUF: {QTYPES}"})
    register_as: str = field(metadata={"help": "MLflow registered model name"})
    recipe: LoraRecipe = field(metadata={"help": "LoRA and optimisation settings"})

    def __post_init__(self) -> None:
        if self.gguf_type not in QTYPES:
            raise ValueError(f"gguf_type must be one of {', '.join(QTYPES)}")


def train(config: TrainInterviewerConfig) -> dict | None:
    """Fit, export and save one interviewer to `config.output_dir`; returns interviewer.json."""
    from accelerate import PartialState

    recipe = config.recipe
    files = InterviewerFiles.base(config.base)
    model, tokenizer = load_base(files.base_dir)
    train_examples = read_examples(config.dialogues_dir / "train.jsonl")
    if recipe.max_examples:
        train_examples = train_examples[: recipe.max_examples]
    train_set, too_long = encode_examples(tokenizer, train_examples, recipe.max_length)
    val_set, _ = encode_examples(
        tokenizer, read_examples(config.dialogues_dir / "val.jsonl"), recipe.max_length
    )

    base_loss = target_loss(model, tokenizer, val_set)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as work:
        peft_model, history = fit(model, tokenizer, train_set, recipe, Path(work))
    seconds = round(time.perf_counter() - started, 1)
    processes = PartialState()
    if not processes.is_main_process:
        return None  # under `accelerate launch`, one process evaluates, exports and registers
    tuned_loss = target_loss(peft_model, tokenizer, val_set)

    shutil.rmtree(config.output_dir, ignore_errors=True)
    config.output_dir.mkdir(parents=True)
    peft_model.save_pretrained(config.output_dir / "adapter")
    exported = export_gguf(
        files.gguf,
        merged_lora_weights(peft_model),
        model.config,
        config.output_dir / "interviewer.gguf",
        config.gguf_type,
    )
    meta = {
        "base": config.base,
        # The rule its training turns were built with: the evaluation and the service use it too.
        "coverage": asdict(CoverageRule.read(config.dialogues_dir / "coverage.json")),
        # The written key points of bank questions: the service judges coverage and writes the
        # report with them (see data/demonstrations.py).
        "key_points": json.loads((config.dialogues_dir / "key_points.json").read_text()),
        "recipe": asdict(recipe),
        "gguf": {"type": config.gguf_type, **exported},
        "train_examples": len(train_set),
        "processes": processes.num_processes,
        "too_long": too_long,
        "val_examples": len(val_set),
        "val": {
            "base_loss": round(base_loss, 4),
            "loss": round(tuned_loss, 4),
            "base_perplexity": round(math.exp(base_loss), 3),
            "perplexity": round(math.exp(tuned_loss), 3),
        },
        "train_seconds": seconds,
        "seconds_per_step": round(seconds / max(history[-1]["step"], 1), 2) if history else None,
        "loss_history": history,
    }
    (config.output_dir / "interviewer.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def main(config_path: Path = Path("configs/interviewer.yaml")) -> dict:
    config = load_section(config_path, "train_interviewer", TrainInterviewerConfig)
    meta = train(config)
    if meta is None:
        return {}
    metrics = meta["val"] | {k: meta[k] for k in ("train_seconds", "seconds_per_step", "train_examples")}
    config.metrics.parent.mkdir(parents=True, exist_ok=True)
    config.metrics.write_text(json.dumps({"val": metrics}, indent=2) + "\n")

    import mlflow

    from mockmentor.interviewer.pyfunc import InterviewerPyfunc
    from mockmentor.registry import register
    from mockmentor.tracking import flatten, stage_run

    params = asdict(config) | {f"recipe.{k}": v for k, v in asdict(config.recipe).items()}
    with stage_run("train_interviewer", params):
        mlflow.log_metrics(flatten({"val": metrics}))
        for entry in meta["loss_history"]:
            mlflow.log_metric("train.loss", entry["loss"], step=int(entry["step"]))
        mlflow.log_artifact(str(config.output_dir / "interviewer.json"))
        registration = register(
            config.register_as,
            config.output_dir,
            InterviewerPyfunc(),
            "val_loss",
            meta["val"]["loss"],
            higher_is_better=False,
            measured_on=sha256_of(config.dialogues_dir / "val.jsonl")[:16],
        )
    print(
        f"registered {config.register_as} v{registration.version}; champion: "
        f"{'this version' if registration.promoted else f'v{registration.previous_champion} kept'}"
    )
    return {"val": metrics}
