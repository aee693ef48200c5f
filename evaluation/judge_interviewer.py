"""DVC stage `judge_interviewer`: a blind pairwise preference between interviewers' turns.

Reads only the `judge_interviewer` section of configs/interviewer.yaml. The judge is the largest
model obtainable here (Qwen2.5-Coder-1.5B-Instruct, configs/models.yaml `interviewer-judge`),
run unchanged on llama.cpp after the same preflight the interviewer passes. For each held-out
prompt in evaluation/replies/interviewer.jsonl it sees the question, the candidate's answer, the
points a complete answer makes (marked hidden from the candidate) and two turns labelled A and B,
without their names, and is asked for "A", "B" or "tie". Small judges pick the first position
whatever it holds, so the verdict is read from the judge's probabilities of its first token
rather than its greedy pick, and each pair is judged twice with positions swapped: the new
turn's margin is P(its letter) - P(the other's letter), averaged over both orders, which cancels
a constant position bias. It wins a prompt above `tie_margin`, loses below minus that, and ties
in between (counted half). The win rate comes with a seeded bootstrap 95 % interval over prompts
(scipy), and the judge's own mean P("A") is reported as its position bias.

A judge is only worth its word if it prefers what it should, so `comparisons` includes a check
of the judge itself: the written turns against the old templates.

Writes evaluation/metrics/interviewer_preference.json and logs it to one MLflow run.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, field
from pathlib import Path

import numpy as np
from pydantic.dataclasses import dataclass
from tqdm import tqdm

from mockmentor.config import STRICT, load_section

JUDGE_SYSTEM = (
    "You judge the feedback a technical interviewer gives a candidate right after an answer, "
    "during a mock interview. Good feedback names what the candidate actually got right, in "
    "their own words; says what is missing or wrong without giving the answer away, because the "
    "candidate should find it; and ends with one clear question that helps them find it, or "
    "moves on when the answer is complete. Bad feedback reads out the hidden answer, is generic, "
    "praises a wrong or off-topic answer, or confuses the candidate."
)
CHOICES = ("A", "B", "tie")


@dataclass(config=STRICT)
class JudgeInterviewerConfig:
    replies: Path = field(metadata={"help": "every model's replies, from `evaluate_interviewer`"})
    metrics: Path = field(metadata={"help": "where interviewer_preference.json is written (a DVC metric)"})
    judge: str = field(metadata={"help": "a GGUF model in configs/models.yaml"})
    comparisons: list[list[str]] = field(
        metadata={"help": "[new, old] reply names to compare, e.g. [tuned, template]"}
    )
    max_prompts: int = field(metadata={"help": "judge the first N prompts (0: all; they are shuffled)"})
    tie_margin: float = field(metadata={"help": "a mean probability margin within this is a tie"})
    threads: int = field(metadata={"help": "llama.cpp threads"})
    bootstrap_resamples: int = field(metadata={"help": "resamples for the 95 % interval"})
    seed: int = field(metadata={"help": "the bootstrap's seed"})

    def __post_init__(self) -> None:
        if not self.comparisons or any(len(pair) != 2 or pair[0] == pair[1] for pair in self.comparisons):
            raise ValueError("comparisons must be pairs of two different reply names")
        if not 0 <= self.tie_margin < 1:
            raise ValueError("tie_margin must be within [0, 1)")
        if self.bootstrap_resamples < 100:
            raise ValueError("bootstrap_resamples below 100 gives no usable interval")


def judge_messages(row: dict, first: str, second: str) -> list[dict[str, str]]:
    # The prompt's shared part comes first, so llama.cpp evaluates it once for both orders.
    points = "; ".join(row["key_points"]) or "(none given)"
    user = (
        f"Interview question: {row['question']}\n"
        f"Candidate's answer: {row['answer']}\n"
        f"Hidden from the candidate, what a complete answer says: {points}\n\n"
        f"Feedback A: {first}\n"
        f"Feedback B: {second}\n\n"
        "Which feedback helps this candidate more? Reply with exactly one word: A, B, or tie."
    )
    return [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": user}]


class Judge:
    """The judge model on llama.cpp, proven by the preflight before it is trusted."""

    def __init__(self, name: str, threads: int) -> None:
        from llama_cpp import Llama

        from mockmentor.interviewer.preflight import check
        from mockmentor.model_assets import gguf_path

        gguf = gguf_path(name)
        verdict = check("llama.cpp", gguf, 1024)
        if not verdict.ok:
            raise RuntimeError(f"the judge {name} cannot run on llama.cpp here: {verdict.detail}")
        self.llama = Llama(
            model_path=str(gguf), n_ctx=2048, n_threads=threads, n_threads_batch=threads, seed=0,
            verbose=False,
        )  # fmt: skip
        # Every single-token spelling of each answer ("A", " A", "tie", " Tie", ...).
        self.token_ids = {
            choice: sorted(
                {
                    ids[0]
                    for spelling in (choice, f" {choice}", choice.capitalize(), f" {choice.capitalize()}")
                    if len(ids := self.llama.tokenize(spelling.encode(), add_bos=False, special=False)) == 1
                }
            )
            for choice in CHOICES
        }

    def choice(self, messages: list[dict[str, str]]) -> dict[str, float]:
        """The judge's probabilities of answering A, B or tie to `messages` (its first token,
        renormalised over the three). The logits are read as the first token is sampled: asking llama.cpp for
        log-probabilities would compute the output layer for every prompt token."""
        seen: list[np.ndarray] = []

        def keep_first(_input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
            if not seen:
                seen.append(np.array(scores, dtype=np.float64))
            return scores

        self.llama.create_chat_completion(
            messages, max_tokens=1, temperature=0.0, logits_processor=[keep_first]
        )
        logits = seen[0]
        probabilities = np.exp(logits - logits.max())
        probabilities /= probabilities.sum()
        mass = {choice: float(probabilities[ids].sum()) for choice, ids in self.token_ids.items()}
        total = sum(mass.values())
        if total < 0.2:
            raise RuntimeError(f"the judge hardly answers A, B or tie ({total:.2f} of its probability)")
        return {choice: value / total for choice, value in mass.items()}


def margin(new_first: dict[str, float], new_second: dict[str, float]) -> float:
    """How much more likely the judge names the new turn than the old one, averaged over both
    positions (new as A, then new as B): a constant preference for A cancels."""
    return ((new_first["A"] - new_first["B"]) + (new_second["B"] - new_second["A"])) / 2


def outcome(margin_: float, tie_margin: float) -> float:
    """1 for a win, 0 for a loss, 0.5 for a tie."""
    return 1.0 if margin_ > tie_margin else 0.0 if margin_ < -tie_margin else 0.5


def preference(
    outcomes: list[float], margins: list[float], picks_a: float, resamples: int, seed: int
) -> dict:
    from scipy.stats import bootstrap

    values = np.asarray(outcomes)
    interval = bootstrap(
        (values,), np.mean, n_resamples=resamples, confidence_level=0.95, method="percentile",
        rng=np.random.default_rng(seed),
    ).confidence_interval  # fmt: skip
    return {
        "prompts": len(values),
        "wins": int((values == 1).sum()),
        "losses": int((values == 0).sum()),
        "ties": int((values == 0.5).sum()),
        "win_rate": round(float(values.mean()), 4),
        "ci95": [round(float(interval.low), 4), round(float(interval.high), 4)],
        "mean_margin": round(float(np.mean(margins)), 4),
        "judge_mean_p_a": round(picks_a, 4),
    }


def main(config_path: Path = Path("configs/interviewer.yaml")) -> dict:
    config = load_section(config_path, "judge_interviewer", JudgeInterviewerConfig)
    rows = [json.loads(line) for line in config.replies.read_text(encoding="utf-8").splitlines()]
    if config.max_prompts:
        rows = rows[: config.max_prompts]
    names = {name for pair in config.comparisons for name in pair}
    if missing := names - set(rows[0]["replies"]):
        raise ValueError(f"{config.replies}: no replies named {', '.join(sorted(missing))}")
    judge = Judge(config.judge, config.threads)
    started = time.perf_counter()
    report: dict = {"judge": config.judge, "comparisons": {}}
    for new, old in config.comparisons:
        pairs = [r for r in rows if r["replies"][new] and r["replies"][old]]
        margins, p_a = [], []
        for row in tqdm(pairs, desc=f"judging {new} vs {old}", unit="prompt"):
            a, b = row["replies"][new], row["replies"][old]
            new_first, new_second = (
                judge.choice(judge_messages(row, a, b)),
                judge.choice(judge_messages(row, b, a)),
            )
            margins.append(margin(new_first, new_second))
            p_a += [new_first["A"], new_second["A"]]
        outcomes = [outcome(m, config.tie_margin) for m in margins]
        report["comparisons"][f"{new}_vs_{old}"] = preference(
            outcomes, margins, float(np.mean(p_a)), config.bootstrap_resamples, config.seed
        )
    report["seconds"] = round(time.perf_counter() - started, 1)
    config.metrics.parent.mkdir(parents=True, exist_ok=True)
    config.metrics.write_text(json.dumps(report, indent=2) + "\n")

    import mlflow

    from mockmentor.tracking import flatten, stage_run

    with stage_run("judge_interviewer", asdict(config)):
        mlflow.log_metrics(flatten(report["comparisons"]))
        mlflow.log_artifact(str(config.metrics))
    return report
