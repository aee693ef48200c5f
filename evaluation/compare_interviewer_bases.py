"""DVC stage `compare_interviewer_bases`: which base model the interviewer should be tuned from.

Reads only the `compare_interviewer_bases` section of configs/interviewer.yaml. Each candidate
base (names in configs/models.yaml) is measured in one run, on the same machine, for what
choosing it would cost and give:
  training   seconds per LoRA step with the served model's recipe (models/interviewer's
             interviewer.json), timed over `lora_steps` steps on the written training turns;
             projected to the recipe's full run, against the CPU pipeline's budget
  latency    time to the reply's first sentence (what the TTS waits for) and to the whole reply,
             greedy on llama.cpp as served, medians over the first `prompts` held-out prompts
  quality    the same turn measures as `evaluate_interviewer`, untuned (the project's prompt, no
             examples), on those prompts, beside the served tuned model on the same prompts
A base that cannot be tuned within the CPU budget can only be served untuned (or tuned on a GPU
with configs/gpu), so its untuned quality is what it would offer a CPU-only operator.

Writes evaluation/metrics/interviewer_bases.json and logs it to one MLflow run.
"""

from __future__ import annotations

import itertools
import json
import statistics
import tempfile
import time
from dataclasses import asdict, field, replace
from pathlib import Path

from pydantic.dataclasses import dataclass
from tqdm import tqdm
from transformers import TrainerCallback

from mockmentor.config import STRICT, load_section
from mockmentor.interviewer.coverage import KeyPointCoverage
from mockmentor.interviewer.decoding import Interviewer, InterviewerFiles
from mockmentor.interviewer.guard import sentence_stream
from mockmentor.interviewer.lora import LoraRecipe, encode_examples, fit, load_base, read_examples
from mockmentor.model_assets import resolve

from .interviewer_metrics import fit_hint_threshold, topic_material, turn_metrics


@dataclass(config=STRICT)
class CompareBasesConfig:
    dialogues_dir: Path = field(metadata={"help": "train.jsonl and eval.jsonl from `build_dialogues`"})
    processed_dir: Path = field(metadata={"help": "records from `prepare` (the topics' bank material)"})
    model_dir: Path = field(metadata={"help": "the served interviewer, from `train_interviewer`"})
    metrics: Path = field(metadata={"help": "where interviewer_bases.json is written (a DVC metric)"})
    candidates: list[str] = field(metadata={"help": "base models to compare (configs/models.yaml)"})
    prompts: int = field(metadata={"help": "held-out prompts decoded per model"})
    lora_steps: int = field(metadata={"help": "LoRA steps timed per base (the first one is warm-up)"})
    cpu_budget_minutes: float = field(metadata={"help": "the most the LoRA stage may take on 2 cores"})
    on_topic_threshold: float = field(metadata={"help": "as in evaluate_interviewer"})
    max_new_tokens: int = field(metadata={"help": "reply length cap"})
    seed: int = field(metadata={"help": "the hint threshold's contrasts"})

    def __post_init__(self) -> None:
        if self.lora_steps < 2:
            raise ValueError("lora_steps must be at least 2: the first step is warm-up")
        if self.prompts < 1:
            raise ValueError("prompts must be at least 1")


class StepClock(TrainerCallback):
    """When each optimiser step ended."""

    def __init__(self) -> None:
        self.ends: list[float] = []

    def on_step_end(self, args, state, control, **kwargs) -> None:
        self.ends.append(time.perf_counter())


def seconds_per_step(base: str, recipe: LoraRecipe, examples: list[dict], steps: int) -> float:
    """Median seconds per LoRA step after the first (warm-up), with the served recipe on `base`."""
    model, tokenizer = load_base(InterviewerFiles.base(base).base_dir)
    dataset, _ = encode_examples(tokenizer, examples[: 2 * steps * recipe.batch_size], recipe.max_length)
    clock = StepClock()
    with tempfile.TemporaryDirectory() as work:
        fit(model, tokenizer, dataset, replace(recipe, max_steps=steps, max_examples=0), Path(work), [clock])
    return round(statistics.median(b - a for a, b in itertools.pairwise(clock.ends)), 3)


def timed_replies(interviewer: Interviewer, examples: list[dict], label: str) -> tuple[list[str], dict]:
    """Greedy replies, with the median seconds to the first sentence and to the whole reply."""
    replies, first, whole = [], [], []
    interviewer.reply(examples[0]["messages"])  # load and warm up, outside the timing
    for example in tqdm(examples, desc=f"{label} replies", unit="prompt"):
        started = time.perf_counter()
        sentences = []
        for sentence in sentence_stream(interviewer.stream(example["messages"])):
            if not sentences:
                first.append(time.perf_counter() - started)
            sentences.append(sentence)
        whole.append(time.perf_counter() - started)
        replies.append(" ".join(sentences))
    return replies, {
        "first_sentence_s_p50": round(statistics.median(first), 3) if first else None,
        "reply_s_p50": round(statistics.median(whole), 3),
    }


def main(config_path: Path = Path("configs/interviewer.yaml")) -> dict:
    config = load_section(config_path, "compare_interviewer_bases", CompareBasesConfig)
    served = json.loads((config.model_dir / "interviewer.json").read_text())
    recipe = LoraRecipe(**served["recipe"])
    train = read_examples(config.dialogues_dir / "train.jsonl")
    examples = read_examples(config.dialogues_dir / "eval.jsonl")[: config.prompts]
    tuned_files = InterviewerFiles.tuned(config.model_dir)
    coverage = KeyPointCoverage(resolve(tuned_files.coverage.encoder))
    material = topic_material(config.processed_dir, coverage)
    hint = fit_hint_threshold(train, coverage, config.seed)["threshold"]

    def quality(replies: list[str]) -> dict:
        rates, _ = turn_metrics(examples, replies, coverage, material, config.on_topic_threshold, hint)
        return {k: v for k, v in rates.items() if k != "per_topic"}

    replies, latency = timed_replies(
        Interviewer(tuned_files, "llama.cpp", config.max_new_tokens), examples, "served (tuned)"
    )
    report: dict = {
        "prompts": len(examples),
        "served_tuned": {"base": served["base"], **latency, **quality(replies)},
        "candidates": {},
    }
    for name in config.candidates:
        step = seconds_per_step(name, recipe, train, config.lora_steps)
        projected = round(step * recipe.max_steps / 60, 1)
        replies, latency = timed_replies(
            Interviewer(InterviewerFiles.base(name), "llama.cpp", config.max_new_tokens), examples, name
        )
        report["candidates"][name] = {
            "lora_seconds_per_step": step,
            "lora_minutes_projected": projected,
            "fits_cpu_budget": projected <= config.cpu_budget_minutes,
            "untuned": {**latency, **quality(replies)},
        }
    config.metrics.parent.mkdir(parents=True, exist_ok=True)
    config.metrics.write_text(json.dumps(report, indent=2) + "\n")

    import mlflow

    from mockmentor.tracking import flatten, stage_run

    with stage_run("compare_interviewer_bases", asdict(config)):
        mlflow.log_metrics(flatten({k: report[k] for k in ("served_tuned", "candidates")}))
        mlflow.log_artifact(str(config.metrics))
    return report
