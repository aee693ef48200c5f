"""DVC stage `evaluate_interviewer`: base vs LoRA interviewer on held-out written turns.

Reads only the `evaluate_interviewer` section of configs/interviewer.yaml. Both models get
the same prompts (data/dialogues/eval.jsonl: the written turns on whole questions never trained
on, Mohler and bank) and decode greedily on llama.cpp, the path the service speaks with (the
packaged Q4_1 base, the shipped tuned GGUF). The written turns and the previous interviewer's
template turns on the same facts (evaluation/template_turns.py) are scored by the same measures,
as the reference and the "before" column. The plan's verdicts on every graded answer to the
held-out Mohler questions, planned from the scorer's unseen-question scores, are compared with
the graders' bands (evaluation/plan_verdicts.py). Perplexity of the written turns comes from the
transformers path, and the tuned model's transformers replies to the first `agreement_prompts`
prompts check the fast path against it. Writes
  evaluation/metrics/interviewer.json      turn measures per model and per topic, the verdicts'
                                           kappa, goals, the hint threshold, and the llama.cpp
                                           fast path's agreement
  evaluation/interviewer_samples.md        side-by-side sample turns (seeded draw)
  evaluation/replies/interviewer.jsonl     every reply to every prompt (`judge_interviewer` reads it)
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
from mockmentor.interviewer.coverage import CoverageRule, KeyPointCoverage
from mockmentor.interviewer.decoding import Interviewer, InterviewerFiles
from mockmentor.interviewer.lora import encode_examples, read_examples, target_loss
from mockmentor.interviewer.turn_diversity import diversity
from mockmentor.model_assets import resolve

from .interviewer_metrics import (
    RATES,
    fit_hint_threshold,
    hint_targeting_by_writer,
    question_as_hint,
    reply_agreement,
    topic_material,
    turn_metrics,
)
from .plan_verdicts import every_fold, verdict_agreement, with_verdicts
from .served_turns import served_turn
from .template_turns import template_turn

# (goal, higher is better)
GOALS = {
    "leak": (0.05, False),
    "fact_leak": (0.05, False),  # stricter than the rule: one fact of a point given away
    "hint_targeting": (0.80, True),
    "well_formed": (0.95, True),
    "on_topic": (0.95, True),
    "no_invented_score": (0.95, True),
    "verdict_kappa": (0.5, True),
}


@dataclass(config=STRICT)
class EvaluateInterviewerConfig:
    dialogues_dir: Path = field(metadata={"help": "eval.jsonl from `build_dialogues`"})
    processed_dir: Path = field(metadata={"help": "records from `prepare` (the topics' bank material)"})
    uq_predictions: Path = field(
        metadata={"help": "unseen-question scores from `evaluate_scorer`, that the verdicts are planned from"}
    )
    model_dir: Path = field(metadata={"help": "the interviewer written by `train_interviewer`"})
    metrics: Path = field(metadata={"help": "where interviewer.json is written (a DVC metric)"})
    samples: Path = field(metadata={"help": "side-by-side sample turns (markdown)"})
    replies: Path = field(metadata={"help": "every model's reply to every prompt (jsonl, for the judge)"})
    plot: Path = field(metadata={"help": "bar chart of the turn measures"})
    full_marks: float = field(metadata={"help": "graders' band: a mean score of at least this is complete"})
    on_topic_threshold: float = field(
        metadata={"help": "cosine to the topic's material that counts as on topic"}
    )
    max_new_tokens: int = field(metadata={"help": "reply length cap"})
    served_opening_words: int = field(
        metadata={
            "help": "the service's first_clause_words (configs/serving.yaml) with early_opening on, "
            "0 with it off: the guard serves the held-out replies as the service would"
        }
    )
    max_examples: int = field(metadata={"help": "evaluate the first N prompts (0: all)"})
    agreement_prompts: int = field(metadata={"help": "prompts the transformers path also decodes"})
    sample_turns: int = field(metadata={"help": "side-by-side samples to save"})
    seed: int = field(metadata={"help": "the draw of samples and of the hint threshold's contrasts"})

    def __post_init__(self) -> None:
        if not 0 < self.on_topic_threshold < 1:
            raise ValueError("on_topic_threshold must be within (0, 1)")
        if self.served_opening_words < 0:
            raise ValueError("served_opening_words must be 0 (off) or more")
        if self.max_new_tokens < 16:
            raise ValueError("max_new_tokens below 16 cannot hold a turn")
        if not 0 < self.full_marks <= 5:
            raise ValueError("full_marks must be within (0, 5]")


def decode(interviewer: Interviewer, examples: list[dict], label: str) -> tuple[list[str], float]:
    """Greedy replies and the seconds they took."""
    started = time.perf_counter()
    if interviewer.backend == "transformers":
        replies = []
        for start in tqdm(range(0, len(examples), 8), desc=f"{label} replies", unit="batch"):
            replies += interviewer.replies([e["messages"] for e in examples[start : start + 8]])
    else:
        replies = [interviewer.reply(e["messages"]) for e in tqdm(examples, desc=f"{label} replies")]
    return replies, round(time.perf_counter() - started, 1)


def write_samples(
    path: Path, examples: list[dict], replies: dict[str, list[str]], count: int, seed: int
) -> None:
    """`count` turns drawn by a seeded shuffle (no cherry-picking): every model's reply side by side."""
    import random

    order = sorted(random.Random(seed).sample(range(len(examples)), min(count, len(examples))))
    lines = ["# Interviewer sample turns on held-out questions (greedy, seeded draw)", ""]
    for n, i in enumerate(order, 1):
        example = examples[i]
        lines += [
            f"## {n}. {example['topic']}, {example['case']} ({example['id']})",
            "",
            "```text",
            example["messages"][-1]["content"],
            "```",
            "",
            *[f"- **{name}:** {texts[i]}" for name, texts in replies.items()],
            "",
        ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")


def plot_rates(path: Path, models: dict[str, dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 3.5))
    width = 0.8 / len(models)
    for n, (name, metrics) in enumerate(models.items()):
        values = [metrics[k] or 0.0 for k in RATES]
        ax.bar(np.arange(len(RATES)) + n * width, values, width, label=name)
    for key, (goal, _) in GOALS.items():
        if key not in RATES:
            continue  # the verdicts' kappa is not a turn rate
        ax.hlines(goal, RATES.index(key) - 0.1, RATES.index(key) + 0.8, colors="k", linestyles="dotted")
    ax.set_xticks(np.arange(len(RATES)) + 0.4 - width / 2, RATES, fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("rate on held-out turns (leak: lower is better)")
    ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def planned_verdicts(
    config: EvaluateInterviewerConfig, examples: list[dict], rule: CoverageRule, coverage: KeyPointCoverage
) -> dict:
    """The plan's verdicts on every graded answer to the held-out Mohler questions (not only the
    written ones), from the scores the scorer gives a question it never saw; `every_fold`: the
    same on all five folds' answers, pooled and per fold (how much one fold's kappa moves)."""
    questions = {e["question_id"] for e in examples if e["source"] == "mohler"}
    graders = pd.read_parquet(config.processed_dir / "answers.parquet").set_index("id")
    predictions = pd.read_parquet(config.uq_predictions).join(graders[["grader1", "grader2"]])
    key_points = (
        pd.read_parquet(config.processed_dir / "questions.parquet").set_index("id")["key_points"].map(list)
    ).to_dict()

    # Planned once: the coverage similarities are the slow part, and every fold reuses them.
    planned = with_verdicts(predictions, key_points, rule, coverage)
    held_out = planned[planned["question_id"].isin(questions)]
    report = verdict_agreement(held_out, config.full_marks, rule.wrong)
    return report | {"every_fold": every_fold(planned, config.full_marks, rule.wrong)}


def goals(measured: dict) -> dict:
    return {
        key: {
            "goal": goal,
            "value": measured[key],
            "met": measured[key] is not None and (measured[key] >= goal if higher else measured[key] <= goal),
        }
        for key, (goal, higher) in GOALS.items()
    }


def margins(tuned: dict, other: dict) -> dict[str, float | None]:
    return {
        key: None if tuned[key] is None or other[key] is None else round(tuned[key] - other[key], 4)
        for key in RATES
    }


def write_replies(path: Path, examples: list[dict], replies: dict[str, list[str]]) -> None:
    """One line per held-out prompt: what the candidate said, the hidden points, every reply."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for i, e in enumerate(examples):
            facts = e["facts"]
            row = {
                "id": e["id"], "topic": e["topic"], "case": e["case"], "question": facts["question"],
                "answer": facts["answer"], "key_points": facts["covered"] + facts["missed"],
                "replies": {name: texts[i] for name, texts in replies.items()},
            }  # fmt: skip
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def main(config_path: Path = Path("configs/interviewer.yaml")) -> dict:
    config = load_section(config_path, "evaluate_interviewer", EvaluateInterviewerConfig)
    examples = read_examples(config.dialogues_dir / "eval.jsonl")
    if config.max_examples:
        examples = examples[: config.max_examples]
    tuned_files = InterviewerFiles.tuned(config.model_dir)
    rule = tuned_files.coverage  # the rule the model's training turns were built with
    coverage = KeyPointCoverage(resolve(rule.encoder))
    material = topic_material(config.processed_dir, coverage)
    base_files = InterviewerFiles.base(
        json.loads((config.model_dir / "interviewer.json").read_text())["base"]
    )

    hint = fit_hint_threshold(read_examples(config.dialogues_dir / "train.jsonl"), coverage, config.seed)
    hint["question_as_hint"] = question_as_hint(examples, coverage, hint["threshold"])
    report: dict = {"examples": len(examples), "hint_threshold": hint, "models": {}, "seconds": {}}
    report["verdict_vs_graders"] = planned_verdicts(config, examples, rule, coverage)
    replies = {
        "written": [e["target"] for e in examples],
        # the previous interviewer (templates it reproduced), on the same facts
        "template": [template_turn(e["facts"], e["score"], seed=i) for i, e in enumerate(examples)],
    }
    for name, files in [("base", base_files), ("tuned", tuned_files)]:
        reference = Interviewer(files, "transformers", config.max_new_tokens)
        dataset, _ = encode_examples(reference.tokenizer, examples, max_length=4096)
        perplexity = round(math.exp(target_loss(reference.model, reference.tokenizer, dataset)), 3)
        report["models"][name] = {"perplexity": perplexity}
        if name == "tuned":
            agreeing = examples[: config.agreement_prompts]
            replies["tuned_transformers"], _ = decode(reference, agreeing, "tuned (transformers)")
        del reference
        replies[name], report["seconds"][name] = decode(
            Interviewer(files, "llama.cpp", config.max_new_tokens), examples, name
        )
    agreement = replies.pop("tuned_transformers")
    served = [
        served_turn(replies["tuned"][i], e["facts"], seed=i, opening_words=config.served_opening_words)
        for i, e in enumerate(examples)
    ]
    replies["served"] = [turn.text for turn in served]
    # the service answers an off-topic answer itself: the served measures are over the turns it
    # asks the model for
    to_model = [i for i, e in enumerate(examples) if e["facts"]["verdict"] != "off_topic"]
    for name, texts in replies.items():
        rows = to_model if name == "served" else range(len(examples))
        metrics, judgements = turn_metrics(
            [examples[i] for i in rows], [texts[i] for i in rows], coverage, material,
            config.on_topic_threshold, hint["threshold"],
        )  # fmt: skip
        if name == "served":
            metrics["hint_targeting_by_writer"] = hint_targeting_by_writer(
                judgements, [served[i].guard_hint for i in rows]
            )
        trigrams = diversity([texts[i] for i in rows])["distinct_trigrams_per_token"]
        report["models"][name] = (
            metrics | {"distinct_trigrams_per_token": trigrams} | report["models"].get(name, {})
        )
    report["models"]["served"] |= {
        "turns": len(to_model),
        "guard_repaired": round(float(np.mean([served[i].repaired for i in to_model])), 4),
    }

    report["fast_path_agreement"] = reply_agreement(agreement, replies["tuned"][: len(agreement)]) | {
        "prompts": len(agreement)
    }
    kappa = {"verdict_kappa": report["verdict_vs_graders"]["cohen_kappa"]}
    # goals on what the candidate hears, and on the model's own words
    report["goals"] = goals(report["models"]["served"] | kappa)
    report["goals_model_alone"] = goals(report["models"]["tuned"] | kappa)
    tuned = report["models"]["tuned"]
    for other in ("base", "template"):
        report[f"margin_over_{other}"] = margins(tuned, report["models"][other])
    report["margin_over_base"]["perplexity_ratio"] = round(
        tuned["perplexity"] / report["models"]["base"]["perplexity"], 4
    )

    config.metrics.parent.mkdir(parents=True, exist_ok=True)
    config.metrics.write_text(json.dumps(report, indent=2) + "\n")
    write_samples(config.samples, examples, replies, config.sample_turns, config.seed)
    write_replies(config.replies, examples, replies)
    plot_rates(config.plot, report["models"])

    import mlflow

    from mockmentor.tracking import flatten, stage_run

    with stage_run("evaluate_interviewer", asdict(config)):
        mlflow.log_metrics(
            flatten(
                {
                    k: report[k]
                    for k in ("models", "fast_path_agreement", "margin_over_base", "margin_over_template")
                }
            )
        )
        verdicts = report["verdict_vs_graders"]
        mlflow.log_metric("verdict_kappa", verdicts["cohen_kappa"])
        mlflow.log_metric("verdict_kappa_every_fold", verdicts["every_fold"]["cohen_kappa"])
        for path in (config.metrics, config.samples, config.plot, config.replies):
            mlflow.log_artifact(str(path))
    return report
