"""DVC stage `evaluate_interviewer`: base vs LoRA interviewer on held-out questions.

Reads only the `evaluate_interviewer` section of configs/interviewer.yaml. Both models get
the same prompts (data/dialogues/eval.jsonl: whole questions never trained on) and decode
greedily. Writes
  evaluation/metrics/interviewer.json      perplexity and turn measures per model, goals,
                                           and the llama.cpp fast path's agreement with transformers
  evaluation/interviewer_samples.md        side-by-side sample turns, base vs tuned
  evaluation/plots/interviewer_rates.png   the turn measures as bars
and logs them to one MLflow run.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, field
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic.dataclasses import dataclass
from tqdm import tqdm

from mockmentor.config import STRICT, load_section
from mockmentor.interviewer.coverage import KeyPointCoverage
from mockmentor.interviewer.decoding import Interviewer, InterviewerFiles
from mockmentor.interviewer.lora import encode_examples, read_examples, target_loss
from mockmentor.model_assets import resolve

from .interviewer_metrics import reply_agreement, turn_metrics

GOALS = {"well_formed": 0.95, "gap_targeting": 0.80}


@dataclass(config=STRICT)
class EvaluateInterviewerConfig:
    dialogues_dir: Path = field(metadata={"help": "eval.jsonl from `build_dialogues`"})
    processed_dir: Path = field(metadata={"help": "records from `prepare` (the topics' bank material)"})
    model_dir: Path = field(metadata={"help": "the interviewer written by `train_interviewer`"})
    metrics: Path = field(metadata={"help": "where interviewer.json is written (a DVC metric)"})
    samples: Path = field(metadata={"help": "side-by-side sample turns (markdown)"})
    plot: Path = field(metadata={"help": "bar chart of the turn measures"})
    on_topic_threshold: float = field(
        metadata={"help": "cosine to the topic's material that counts as on topic"}
    )
    max_new_tokens: int = field(metadata={"help": "reply length cap"})
    max_examples: int = field(metadata={"help": "evaluate the first N prompts (0: all)"})
    sample_turns: int = field(metadata={"help": "side-by-side samples to save"})

    def __post_init__(self) -> None:
        if not 0 < self.on_topic_threshold < 1:
            raise ValueError("on_topic_threshold must be within (0, 1)")
        if self.max_new_tokens < 16:
            raise ValueError("max_new_tokens below 16 cannot hold a turn")


def topic_material(processed_dir: Path, coverage: KeyPointCoverage) -> dict[str, np.ndarray]:
    rows = pd.concat(
        [
            pd.read_parquet(processed_dir / "questions.parquet"),
            pd.read_parquet(processed_dir / "bank.parquet"),
        ]
    )
    return {
        topic: coverage.embed(group["text"].tolist() + group["reference_answer"].tolist())
        for topic, group in rows.groupby("topic")
    }


def decode(interviewer: Interviewer, examples: list[dict], label: str) -> tuple[list[str], float]:
    started = time.perf_counter()
    if interviewer.backend == "transformers":
        replies = []
        for start in tqdm(range(0, len(examples), 8), desc=f"{label} replies", unit="batch"):
            replies += interviewer.replies([e["messages"] for e in examples[start : start + 8]])
    else:
        replies = [interviewer.reply(e["messages"]) for e in tqdm(examples, desc=f"{label} replies")]
    return replies, time.perf_counter() - started


def write_samples(path: Path, examples: list[dict], base: list[str], tuned: list[str], count: int) -> None:
    # Three feedback turns to each opener, in file order: a fixed choice, no cherry-picking.
    feedback = [i for i, e in enumerate(examples) if e["kind"] == "feedback"]
    openers = [i for i, e in enumerate(examples) if e["kind"] == "opener"]
    order = (feedback[: count - count // 4] + openers[: count // 4])[:count]
    lines = ["# Interviewer sample turns: base vs LoRA (held-out questions, greedy)", ""]
    for n, i in enumerate(order, 1):
        example = examples[i]
        prompt = example["messages"][-1]["content"]
        lines += [
            f"## {n}. {example['kind']} ({example['topic']}, {example['case']})",
            "",
            "```text",
            prompt,
            "```",
            "",
            f"- **base:** {base[i]}",
            f"- **tuned:** {tuned[i]}",
            "",
        ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")


def plot_rates(path: Path, models: dict[str, dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = ["well_formed", "gap_targeting", "on_topic", "no_invented_score"]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    width = 0.8 / len(models)
    for n, (name, metrics) in enumerate(models.items()):
        ax.bar(np.arange(len(keys)) + n * width, [metrics[k] for k in keys], width, label=name)
    for key, goal in GOALS.items():
        ax.hlines(goal, keys.index(key) - 0.1, keys.index(key) + 0.8, colors="k", linestyles="dotted")
    ax.set_xticks(np.arange(len(keys)) + 0.4 - width / 2, keys)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("rate on held-out prompts")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(config_path: Path = Path("configs/interviewer.yaml")) -> dict:
    config = load_section(config_path, "evaluate_interviewer", EvaluateInterviewerConfig)
    examples = read_examples(config.dialogues_dir / "eval.jsonl")
    if config.max_examples:
        examples = examples[: config.max_examples]
    tuned_files = InterviewerFiles.tuned(config.model_dir)
    rule = tuned_files.coverage  # the rule the model's training turns were built with
    coverage = KeyPointCoverage(resolve(rule.encoder), rule.threshold)
    material = topic_material(config.processed_dir, coverage)
    base_files = InterviewerFiles.base(
        json.loads((config.model_dir / "interviewer.json").read_text())["base"]
    )

    report: dict = {"examples": len(examples), "models": {}, "seconds": {}}
    replies = {}
    for name, files, backend in [
        ("base", base_files, "transformers"),
        ("tuned", tuned_files, "transformers"),
        ("tuned_llama_cpp", tuned_files, "llama.cpp"),
    ]:
        interviewer = Interviewer(files, backend, config.max_new_tokens)
        replies[name], seconds = decode(interviewer, examples, name)
        metrics, _ = turn_metrics(examples, replies[name], coverage, material, config.on_topic_threshold)
        if backend == "transformers":
            dataset, _ = encode_examples(interviewer.tokenizer, examples, max_length=4096)
            metrics["perplexity"] = round(
                math.exp(target_loss(interviewer.model, interviewer.tokenizer, dataset)), 3
            )
        report["models"][name] = metrics
        report["seconds"][name] = round(seconds, 1)
        del interviewer

    report["fast_path_agreement"] = reply_agreement(replies["tuned"], replies["tuned_llama_cpp"])
    base, tuned = report["models"]["base"], report["models"]["tuned"]
    report["goals"] = {
        key: {"goal": goal, "met": tuned[key] is not None and tuned[key] >= goal}
        for key, goal in GOALS.items()
    }
    report["margin_over_base"] = {
        key: None if tuned[key] is None else round(tuned[key] - base[key], 4)
        for key in ("well_formed", "gap_targeting", "on_topic", "no_invented_score")
    } | {"perplexity_ratio": round(tuned["perplexity"] / base["perplexity"], 4)}

    config.metrics.parent.mkdir(parents=True, exist_ok=True)
    config.metrics.write_text(json.dumps(report, indent=2) + "\n")
    write_samples(config.samples, examples, replies["base"], replies["tuned"], config.sample_turns)
    plot_rates(config.plot, report["models"])

    import mlflow

    from mockmentor.tracking import flatten, stage_run

    with stage_run("evaluate_interviewer", asdict(config)):
        mlflow.log_metrics(
            flatten({k: report[k] for k in ("models", "fast_path_agreement", "margin_over_base")})
        )
        for path in (config.metrics, config.samples, config.plot):
            mlflow.log_artifact(str(path))
        mlflow.log_dict(
            [
                {"id": e["id"], "kind": e["kind"], **{m: replies[m][i] for m in replies}}
                for i, e in enumerate(examples)
            ],
            "interviewer_replies.json",
        )
    return report
