"""DVC stage `evaluate_end_of_turn`: when may a hands-free answer end? Fitted and measured on
real answers, held out by question.

A candidate who stops mid-sentence to think must not be cut in on; one who has finished should
not wait long. The sentence-end model (mockmentor/speech/end_of_turn.py) reads the question and
the words so far and gives log P(the sentence or turn ends here). This stage draws real Mohler
student answers and, for each, the same answer cut at a random word inside it (never right after
a sentence's end, where an answer could stop), and asks the model about both.

Per unseen-question fold, the threshold is fitted on the other folds: the lowest one that calls
at most `max_cut_in` of the cut answers finished (a cut answer called finished is a thinking
pause the interviewer would cut in on after `end_silence_s`). On the held-out fold it reports
  cut_in_rate          cut answers called finished (the interviewer cuts in)
  finished_recognised  whole answers called finished (the answer ends after the short silence;
                       otherwise after hold_silence_s)
  auc                  how well log P(end) separates whole from cut answers
beside two rules measured on the same rows: silence alone (every pause can end an answer) and
a word rule (the answer cannot end on "and", "the", "um", ...).

Reads only the `evaluate_end_of_turn` section of configs/serving.yaml; writes the rule the
service reads (threshold fitted on every fold), the metrics and a plot.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import asdict, field
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from pydantic.dataclasses import dataclass
from sklearn.metrics import roc_auc_score
from tqdm import tqdm

from mockmentor.config import STRICT, load_section
from mockmentor.interviewer.proven_gguf import proven_gguf
from mockmentor.model_assets import resolve
from mockmentor.speech.end_of_turn import N_CTX, SentenceEnd

matplotlib.use("Agg")

# The word rule's open endings: a sentence that stops on one of these has not ended.
OPEN_ENDINGS = {
    "and", "or", "but", "so", "because", "then", "which", "that", "if", "when", "where", "while",
    "the", "a", "an", "of", "to", "in", "on", "for", "with", "is", "are", "was", "um", "uh", "like",
}  # fmt: skip


@dataclass(config=STRICT)
class EvaluateEndOfTurnConfig:
    processed_dir: Path = field(metadata={"help": "records written by `prepare`"})
    splits_dir: Path = field(metadata={"help": "splits written by `prepare` (uq.parquet: question folds)"})
    model: str = field(metadata={"help": "sentence-end LM, a configs/models.yaml name (transformers folder)"})
    answers_per_question: int = field(metadata={"help": "whole answers drawn per question (each also cut)"})
    min_words: int = field(metadata={"help": "answers shorter than this are not drawn"})
    max_cut_in: float = field(metadata={"help": "cut answers called finished, at most (training folds)"})
    threads: int = field(metadata={"help": "CPU threads of the LM"})
    seed: int = field(metadata={"help": "seed of the draw and the cut positions"})
    rule: Path = field(metadata={"help": "output: the fitted rule the service reads"})
    metrics: Path = field(metadata={"help": "output metrics (a DVC metric)"})
    plot: Path = field(metadata={"help": "output plot: log P(end) of whole and cut answers"})

    def __post_init__(self) -> None:
        if self.answers_per_question < 1 or self.min_words < 4:
            raise ValueError("answers_per_question must be at least 1 and min_words at least 4")
        if not 0 < self.max_cut_in < 0.5:
            raise ValueError("max_cut_in must be within (0, 0.5)")


def examples(answers: pd.DataFrame, folds: pd.DataFrame, config: EvaluateEndOfTurnConfig) -> pd.DataFrame:
    """Whole answers and the same answers cut mid-sentence, with their question's fold."""
    rng = random.Random(config.seed)
    fold_of = dict(zip(folds["question_id"], folds["fold"], strict=True))
    rows = []
    for question, group in answers.sort_values("id").groupby("question_id", sort=True):
        words = group["text"].str.split()
        usable = group[(words.str.len() >= config.min_words)]
        drawn = usable.sample(min(len(usable), config.answers_per_question), random_state=config.seed)
        for answer in drawn.itertuples():
            tokens = answer.text.split()
            cuts = [k for k in range(2, len(tokens) - 1) if not re.search(r"[.?!]$", tokens[k - 1])]
            if not cuts:
                continue
            cut = rng.choice(cuts)
            base = {"question_id": question, "question": answer.question, "fold": fold_of[question]}
            rows.append(base | {"answer_id": answer.id, "text": answer.text, "whole": True})
            rows.append(base | {"answer_id": answer.id, "text": " ".join(tokens[:cut]), "whole": False})
    return pd.DataFrame(rows)


def fitted_threshold(log_p: np.ndarray, whole: np.ndarray, max_cut_in: float) -> float:
    """The lowest threshold that calls at most `max_cut_in` of the cut answers finished."""
    return float(np.quantile(log_p[~whole], 1 - max_cut_in, method="higher") + 1e-6)


def rates(finished: np.ndarray, whole: np.ndarray) -> dict[str, float]:
    return {
        "cut_in_rate": round(float(finished[~whole].mean()), 4),
        "finished_recognised": round(float(finished[whole].mean()), 4),
    }


def word_rule(text: str) -> bool:
    words = re.findall(r"[a-z']+", text.lower())
    return bool(words) and words[-1] not in OPEN_ENDINGS


def plot(rows: pd.DataFrame, threshold: float, path: Path) -> None:
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4))
    bins = np.linspace(rows["log_p"].min(), 0, 40)
    axes.hist(rows.loc[rows["whole"], "log_p"], bins=bins, alpha=0.6, label="whole answer")
    axes.hist(rows.loc[~rows["whole"], "log_p"], bins=bins, alpha=0.6, label="cut mid-sentence")
    axes.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.2f}")
    axes.set_xlabel("log P(the sentence ends here)")
    axes.set_ylabel("answers")
    axes.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(config_path: Path = Path("configs/serving.yaml")) -> dict:
    config = load_section(config_path, "evaluate_end_of_turn", EvaluateEndOfTurnConfig)
    answers = pd.read_parquet(config.processed_dir / "answers.parquet")
    questions = pd.read_parquet(config.processed_dir / "questions.parquet")
    answers = answers.merge(
        questions[["id", "text"]].rename(columns={"id": "question_id", "text": "question"})
    )
    rows = examples(answers, pd.read_parquet(config.splits_dir / "uq.parquet"), config)
    model = SentenceEnd(resolve(config.model), proven_gguf(config.model, N_CTX), threads=config.threads)
    rows["log_p"] = [
        model.log_probability(q, t)
        for q, t in tqdm(
            zip(rows["question"], rows["text"], strict=True), total=len(rows), desc="sentence end"
        )
    ]
    log_p, whole = rows["log_p"].to_numpy(), rows["whole"].to_numpy()
    held_out = np.zeros(len(rows), bool)
    for fold in sorted(rows["fold"].unique()):
        test = (rows["fold"] == fold).to_numpy()
        threshold = fitted_threshold(log_p[~test], whole[~test], config.max_cut_in)
        held_out[test] = log_p[test] >= threshold
    threshold = fitted_threshold(log_p, whole, config.max_cut_in)
    words = np.array([word_rule(t) for t in rows["text"]])
    report = {
        "rows": {
            "whole": int(whole.sum()),
            "cut": int((~whole).sum()),
            "questions": int(rows["question_id"].nunique()),
        },
        "sentence_end_model": rates(held_out, whole) | {"auc": round(float(roc_auc_score(whole, log_p)), 4)},
        "silence_alone": rates(np.ones(len(rows), bool), whole),
        "word_rule": rates(words, whole),
        "threshold": round(threshold, 4),
        "model": config.model,
        "backend": model.backend,
    }
    config.rule.parent.mkdir(parents=True, exist_ok=True)
    config.rule.write_text(json.dumps({"model": config.model, "threshold": threshold}, indent=2) + "\n")
    config.metrics.parent.mkdir(parents=True, exist_ok=True)
    config.metrics.write_text(json.dumps(report, indent=2) + "\n")
    plot(rows, threshold, config.plot)

    import mlflow

    from mockmentor.tracking import flatten, stage_run

    with stage_run("evaluate_end_of_turn", asdict(config)):
        mlflow.log_metrics(
            flatten({k: report[k] for k in ("sentence_end_model", "silence_alone", "word_rule")})
        )
        mlflow.log_metric("threshold", threshold)
        mlflow.log_artifact(str(config.metrics))
        mlflow.log_artifact(str(config.plot))
    return report
