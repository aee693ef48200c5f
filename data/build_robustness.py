"""DVC stage `build_robustness`: answers that do not answer, for every Mohler question.

A score a candidate can trust must not reward an answer that says nothing. This stage builds,
by rule, answers a fair grader would give 0 (a bare keyword list at most 1), from the real
questions and reference answers and the project's own phrases (data/raw/robustness):

  non_answer          "I don't know.", "Can we skip this question?", ...
  question_restated   the question read back, bare or in a stalling frame
  other_answer        the reference answer of a question from another assignment that shares
                      no term with this question or its reference: the course's review
                      assignments ask some questions twice ("push and pop" answers 8.2 and
                      12.7), and another question's right answer to the same question is no
                      wrong answer
  keyword_list        the reference's longer words strung together ("um well basically ..."),
                      on the questions where the project judged such a list no answer
                      (phrases.yaml, keyword_list_questions: on most Mohler questions the
                      terms are the answer, "enqueue dequeue")
  filler              filler words only ("um, well, you know, basically, ...")
  unrelated           sentences about something else entirely (everyday life)

Each row carries its question's UQ fold, so a scorer trains only on the training folds' rows
and is measured on held-out questions, exactly like the unseen-question protocol. Reads only
the `build_robustness` section of configs/data.yaml and writes
  data/robustness/answers.parquet   id, question_id, kind, answer, score, fold
  data/robustness/report.json       rows per kind and fold (a DVC metric)
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import asdict, field
from pathlib import Path

import pandas as pd
from pydantic.dataclasses import dataclass
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from mockmentor.config import STRICT, load_section
from mockmentor.content_terms import terms

KINDS = ("non_answer", "question_restated", "other_answer", "keyword_list", "filler", "unrelated")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")


@dataclass(config=STRICT)
class BuildRobustnessConfig:
    processed_dir: Path = field(metadata={"help": "records written by `prepare`"})
    splits_dir: Path = field(metadata={"help": "splits written by `prepare` (uq.parquet)"})
    phrases: Path = field(metadata={"help": "the project's own phrases (data/raw/robustness)"})
    output_dir: Path = field(metadata={"help": "where answers.parquet is written"})
    report: Path = field(metadata={"help": "rows per kind and fold (a DVC metric)"})
    per_question: dict[str, int] = field(metadata={"help": "rows of each kind per question"})
    keyword_min_letters: int = field(metadata={"help": "a reference word this long or longer is a keyword"})
    seed: int = field(metadata={"help": "the draws of phrases, frames and other questions"})

    def __post_init__(self) -> None:
        if set(self.per_question) != set(KINDS):
            raise ValueError(f"per_question needs exactly the kinds {', '.join(KINDS)}")
        if min(self.per_question.values()) < 0:
            raise ValueError("per_question counts must not be negative")


@dataclass(config=STRICT)
class Phrases:
    non_answers: list[str]
    restatement_frames: list[str]
    fillers: list[str]
    keyword_frames: list[str]
    unrelated: list[str]
    keyword_list_questions: dict[str, str]  # question id -> what its keyword list leaves out

    def __post_init__(self) -> None:
        for name in ("restatement_frames",):
            if not all("{question}" in frame for frame in getattr(self, name)):
                raise ValueError(f"every one of {name} needs a {{question}} slot")
        if not all("{keywords}" in frame for frame in self.keyword_frames):
            raise ValueError("every keyword frame needs a {keywords} slot")


def keywords(reference: str, min_letters: int) -> list[str]:
    """The reference's longer content words, each once, in order."""
    seen, words = set(), []
    for word in _WORD.findall(reference):
        key = word.lower()
        if len(word) >= min_letters and key not in ENGLISH_STOP_WORDS and key not in seen:
            seen.add(key)
            words.append(word)
    return words


def lowered(question: str) -> str:
    return question[:1].lower() + question[1:] if question[1:2].islower() else question


def rows_for(question: pd.Series, others: pd.DataFrame, phrases: Phrases, config: BuildRobustnessConfig,
             rng: random.Random) -> list[dict]:  # fmt: skip
    """Every kind's rows for one question (fewer where its record cannot make one)."""
    made: dict[str, list[str]] = {kind: [] for kind in KINDS}
    asked = terms(question["text"]) | terms(question["reference_answer"])
    count = config.per_question
    made["non_answer"] = rng.sample(phrases.non_answers, count["non_answer"])
    for frame in rng.sample(phrases.restatement_frames, count["question_restated"]):
        text = frame.format(question=question["text"] if frame.startswith("{") else lowered(question["text"]))
        made["question_restated"].append(text)
    elsewhere = others[
        (others["assignment"] != question["assignment"])
        & others["reference_answer"].map(lambda text: not terms(text) & asked)
    ]
    made["other_answer"] = [row.reference_answer for row in elsewhere.sample(
        count["other_answer"], random_state=rng.randrange(2**31)).itertuples()]  # fmt: skip
    words = keywords(question["reference_answer"], config.keyword_min_letters)
    if question["id"] in phrases.keyword_list_questions and len(words) >= 2:
        for frame in rng.sample(phrases.keyword_frames, count["keyword_list"]):
            made["keyword_list"].append(frame.format(keywords=" ".join(words)))
    for _ in range(count["filler"]):
        stalls = [rng.choice(phrases.fillers) for _ in range(rng.randint(6, 12))]
        made["filler"].append(", ".join(stalls).capitalize() + ".")
    for _ in range(count["unrelated"]):
        made["unrelated"].append(" ".join(rng.sample(phrases.unrelated, rng.randint(1, 2))))
    return [
        {
            "id": f"robust:{question['id']}:{kind}:{n}",
            "question_id": question["id"],
            "kind": kind,
            "answer": text,
            "score": 0.0,
        }
        for kind in KINDS
        for n, text in enumerate(made[kind])
    ]


def main(config_path: Path = Path("configs/data.yaml")) -> dict:
    config = load_section(config_path, "build_robustness", BuildRobustnessConfig)
    phrases = load_section(config.phrases, "phrases", Phrases)
    questions = pd.read_parquet(config.processed_dir / "questions.parquet")
    fold = pd.read_parquet(config.splits_dir / "uq.parquet").set_index("question_id")["fold"]
    unknown = sorted(set(phrases.keyword_list_questions) - set(questions["id"]))
    if unknown:
        raise ValueError(f"{config.phrases}: keyword_list_questions names no question: {', '.join(unknown)}")
    rng = random.Random(config.seed)
    rows = [
        row
        for _, question in questions.sort_values("id").iterrows()
        for row in rows_for(question, questions[questions["id"] != question["id"]], phrases, config, rng)
    ]
    answers = pd.DataFrame(rows).assign(fold=lambda frame: frame["question_id"].map(fold).astype(int))
    config.output_dir.mkdir(parents=True, exist_ok=True)
    answers.to_parquet(config.output_dir / "answers.parquet", index=False)
    report = {
        "rows": len(answers),
        "questions": int(answers["question_id"].nunique()),
        "kinds": {kind: int((answers["kind"] == kind).sum()) for kind in KINDS},
        "rows_per_fold": {str(k): int(v) for k, v in answers["fold"].value_counts().sort_index().items()},
    }
    config.report.parent.mkdir(parents=True, exist_ok=True)
    config.report.write_text(json.dumps(report, indent=2) + "\n")

    import mlflow

    from mockmentor.tracking import flatten, stage_run

    with stage_run("build_robustness", asdict(config)):
        mlflow.log_metrics(flatten({k: report[k] for k in ("rows", "kinds")}))
        mlflow.log_artifact(str(config.report))
    return report
