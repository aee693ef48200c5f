"""DVC stage `build_dialogues`: supervised interviewer turns from the real records.

Reads only the `build_dialogues` section of configs/interviewer.yaml and writes
  data/dialogues/{train,val,eval}.jsonl   one example per line: kind, messages, target, facts
  data/dialogues/coverage.json            the coverage rule the targets were built with
  data/dialogue_report.json               counts per split and kind, coverage statistics

Openers come from bank questions (bank split) and Mohler questions; feedback turns from
Mohler's real student answers with their human scores. Whole questions are held out: UQ
fold `eval_fold` is the evaluation set, fold `val_fold` the validation set, the rest train.
Which key points an answer covers is decided by `KeyPointCoverage` (mockmentor/interviewer/coverage.py).
Every target is checked with the turn parser; one that fails is dropped and counted.

Turns candidates rated in the service (`collected_turns`, written by `collect_ratings`)
join the training split when the file is present: a well-formed turn rated at least
`min_rating` becomes an example with its own reply as the target, tagged source
"collected"; evaluation stays on the real records.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import asdict, field
from pathlib import Path

import pandas as pd
from pydantic.dataclasses import dataclass
from tqdm import tqdm

from mockmentor.config import STRICT, load_section
from mockmentor.interviewer.coverage import CoverageRule, KeyPointCoverage
from mockmentor.interviewer.templates import feedback_target, opener_target
from mockmentor.interviewer.turn import (
    AnswerFacts,
    TurnFormatError,
    feedback_messages,
    opener_messages,
    parse_turn,
)
from mockmentor.model_assets import resolve
from mockmentor.records import RatedTurn, read_records, text_key

SPLITS = ("train", "val", "eval")


@dataclass(config=STRICT)
class BuildDialoguesConfig:
    processed_dir: Path = field(metadata={"help": "records written by `prepare`"})
    splits_dir: Path = field(metadata={"help": "splits written by `prepare`"})
    output_dir: Path = field(metadata={"help": "where {train,val,eval}.jsonl are written"})
    report: Path = field(metadata={"help": "counts and coverage statistics (a DVC metric)"})
    encoder: str = field(metadata={"help": "sentence encoder for the coverage rule (configs/models.yaml)"})
    coverage_threshold: float = field(metadata={"help": "cosine similarity at which a key point is covered"})
    full_marks: float = field(metadata={"help": "answers scored at least this cover every key point"})
    wrong: float = field(metadata={"help": "answers scored at most this cover no key point"})
    close_score: float = field(metadata={"help": "no point covered but at least this score: 'close'"})
    eval_fold: int = field(metadata={"help": "UQ fold whose questions are held out for evaluation"})
    val_fold: int = field(metadata={"help": "UQ fold whose questions are held out for validation"})
    answers_per_question: dict[str, int] = field(
        metadata={"help": "feedback examples per question, by split"}
    )
    bank_openers: dict[str, int] = field(metadata={"help": "bank opener examples, by split"})
    answer_words: int = field(metadata={"help": "answers are cut to this many words in the prompt"})
    score_rate: float = field(metadata={"help": "share of feedback targets that state the score band"})
    seed: int = field(metadata={"help": "sampling and phrasing seed"})
    collected_turns: Path = field(metadata={"help": "rated turns from the service (used when present)"})
    min_rating: int = field(metadata={"help": "collected turns rated below this are not trained on"})

    def __post_init__(self) -> None:
        if self.eval_fold == self.val_fold:
            raise ValueError("eval_fold and val_fold must differ")
        for name in ("answers_per_question", "bank_openers"):
            if set(getattr(self, name)) != set(SPLITS):
                raise ValueError(f"{name} needs exactly the keys {', '.join(SPLITS)}")
        if not 0 <= self.score_rate <= 1:
            raise ValueError("score_rate must be within [0, 1]")
        _ = self.coverage_rule  # validates the rule now, naming this section
        if not 1 <= self.min_rating <= 5:
            raise ValueError("min_rating must be within 1-5")

    @property
    def coverage_rule(self) -> CoverageRule:
        return CoverageRule(self.encoder, self.coverage_threshold, self.full_marks, self.wrong)


def cut_words(text: str, limit: int) -> str:
    words = text.split()
    return " ".join(words[:limit]) + (" …" if len(words) > limit else "")


def case_of(covered: list[bool]) -> str:
    return "complete" if all(covered) else "partial" if any(covered) else "none"


def balanced_sample(answers: pd.DataFrame, per_question: int, seed: int) -> pd.DataFrame:
    """Up to `per_question` answers of each question, taken round-robin over coverage cases."""
    picked = []
    for _, group in answers.groupby("question_id", sort=True):
        by_case = [g.sample(frac=1, random_state=seed) for _, g in group.groupby("case", sort=True)]
        order = pd.concat([g.iloc[i : i + 1] for i in range(len(group)) for g in by_case if i < len(g)])
        picked.append(order.head(per_question))
    return pd.concat(picked) if picked else answers.head(0)


def feedback_examples(
    answers: pd.DataFrame, questions: pd.DataFrame, next_of: dict[str, str], config: BuildDialoguesConfig
) -> list[dict]:
    rng = random.Random(config.seed)
    examples = []
    for row in answers.itertuples():
        question = questions.loc[row.question_id]
        points = list(question.key_points)
        graders = [g for g in (row.grader1, row.grader2) if pd.notna(g)] or [row.score]
        facts = AnswerFacts(
            topic=question.topic,
            question=question.text,
            answer=cut_words(row.text, config.answer_words),
            score=float(row.score),
            score_low=float(min(graders)),
            score_high=float(max(graders)),
            covered=[p for p, c in zip(points, row.covered, strict=True) if c],
            missed=[p for p, c in zip(points, row.covered, strict=True) if not c],
            next_question=next_of.get(row.question_id),
        )
        target = feedback_target(facts, rng, config.score_rate, config.close_score)
        examples.append(
            {
                "id": f"feedback:{row.id}",
                "kind": "feedback",
                "source": row.source,
                "topic": question.topic,
                "question_id": row.question_id,
                "case": row.case,
                "messages": feedback_messages(facts),
                "target": target,
                "facts": asdict(facts),
            }
        )
    return examples


def opener_examples(questions: pd.DataFrame, seed: int) -> list[dict]:
    rng = random.Random(seed)
    examples = []
    for row in questions.itertuples():
        examples.append(
            {
                "id": f"opener:{row.id}",
                "kind": "opener",
                "source": row.source,
                "topic": row.topic,
                "question_id": row.id,
                "case": "opener",
                "messages": opener_messages(row.topic, row.text),
                "target": opener_target(row.topic, row.text, rng),
                "facts": None,
            }
        )
    return examples


def collected_examples(path: Path, min_rating: int) -> tuple[list[dict], dict[str, int]]:
    """Rated service turns worth training on, and counts of what was kept and why not.

    A turn exported twice (same id) or the same reply to the same prompt again counts once,
    with its first rating.
    """
    counts = {"read": 0, "low_rating": 0, "duplicate": 0}
    if not path.is_file():
        return [], counts
    examples, seen = [], set()
    for _, turn in read_records(path, RatedTurn):
        counts["read"] += 1
        content = json.dumps([turn.messages, text_key(turn.reply)], sort_keys=True)
        if turn.turn_id in seen or content in seen:
            counts["duplicate"] += 1
            continue
        seen.update((turn.turn_id, content))
        if turn.rating < min_rating:
            counts["low_rating"] += 1
            continue
        examples.append(
            {
                "id": f"collected:{turn.turn_id}",
                "kind": turn.kind,
                "source": "collected",
                "topic": turn.topic,
                "question_id": f"collected:{turn.turn_id}",
                "case": "collected",
                "messages": turn.messages,
                "target": turn.reply,
                "facts": None,
            }
        )
    return examples, counts


def well_formed(examples: list[dict]) -> tuple[list[dict], int]:
    kept = []
    for example in examples:
        if example["target"] is None:
            continue
        try:
            parse_turn(example["target"], example["kind"])
        except TurnFormatError:
            continue
        kept.append(example)
    return kept, len(examples) - len(kept)


def main(config_path: Path = Path("configs/interviewer.yaml")) -> dict:
    config = load_section(config_path, "build_dialogues", BuildDialoguesConfig)
    questions = pd.read_parquet(config.processed_dir / "questions.parquet").set_index("id", drop=False)
    answers = pd.read_parquet(config.processed_dir / "answers.parquet")
    bank = pd.read_parquet(config.processed_dir / "bank.parquet")
    uq = pd.read_parquet(config.splits_dir / "uq.parquet").set_index("question_id")["fold"]
    bank_split = pd.read_parquet(config.splits_dir / "bank.parquet").set_index("id")["split"]

    rule = config.coverage_rule
    coverage = KeyPointCoverage(resolve(rule.encoder), rule.threshold)
    chunks = [answers.iloc[i : i + 256] for i in range(0, len(answers), 256)]
    similar, covered = [], []  # by similarity alone, then after the score guard
    for chunk in tqdm(chunks, desc="key-point coverage", unit="batch"):
        points = [list(questions.loc[q, "key_points"]) for q in chunk["question_id"]]
        flags = coverage.covered(chunk["text"].tolist(), points)
        similar += flags
        covered += [rule.guard(f, s) for f, s in zip(flags, chunk["score"], strict=True)]
    answers = answers.assign(covered=covered, case=[case_of(c) for c in covered])

    # The next question in the course's own order ("mohler-3.4": assignment 3, question 4).
    order = sorted(questions.index, key=lambda q: tuple(int(n) for n in re.findall(r"\d+", q)))
    next_of = {q: questions.loc[order[(i + 1) % len(order)], "text"] for i, q in enumerate(order)}
    split_of_fold = {config.eval_fold: "eval", config.val_fold: "val"}
    answers["split"] = answers["question_id"].map(uq).map(lambda f: split_of_fold.get(f, "train"))
    questions["split"] = questions.index.map(uq).map(lambda f: split_of_fold.get(f, "train"))
    bank["split"] = bank["id"].map(bank_split).map({"train": "train", "val": "val", "test": "eval"})

    config.output_dir.mkdir(parents=True, exist_ok=True)
    rule.write(config.output_dir / "coverage.json")  # travels with the model trained on these turns
    report: dict = {"coverage_threshold": config.coverage_threshold, "splits": {}, "dropped": {}}
    for split in SPLITS:
        sample = balanced_sample(
            answers[answers["split"] == split], config.answers_per_question[split], config.seed
        )
        bank_rows = bank[bank["split"] == split]
        bank_rows = bank_rows.sample(frac=1, random_state=config.seed)
        bank_openers, dropped_bank = well_formed(opener_examples(bank_rows, config.seed))
        examples, dropped = well_formed(
            feedback_examples(sample, questions, next_of, config)
            + opener_examples(questions[questions["split"] == split], config.seed)
        )
        examples += bank_openers[: config.bank_openers[split]]
        if split == "train":
            collected, report["collected"] = collected_examples(config.collected_turns, config.min_rating)
            collected, malformed = well_formed(collected)
            report["collected"]["kept"], report["collected"]["malformed"] = len(collected), malformed
            examples += collected
        random.Random(config.seed).shuffle(examples)
        with (config.output_dir / f"{split}.jsonl").open("w", encoding="utf-8") as out:
            for example in examples:
                out.write(json.dumps(example, ensure_ascii=False) + "\n")
        counts = pd.Series([e["case"] for e in examples]).value_counts().sort_index()
        report["splits"][split] = {"examples": len(examples), **{k: int(v) for k, v in counts.items()}}
        report["dropped"][split] = dropped + dropped_bank
    # How the similarity rule alone tracks the human score (the README's threshold check).
    by_score = answers.assign(share=[sum(c) / len(c) for c in similar]).groupby(answers["score"].round())
    report["covered_share_by_score"] = {
        f"{k:g}": round(float(v), 3) for k, v in by_score["share"].mean().items()
    }
    report["answer_cases"] = {k: int(v) for k, v in answers["case"].value_counts().sort_index().items()}
    config.report.parent.mkdir(parents=True, exist_ok=True)
    config.report.write_text(json.dumps(report, indent=2) + "\n")

    from mockmentor.tracking import flatten, stage_run

    with stage_run("build_dialogues", asdict(config)):
        import mlflow

        mlflow.log_metrics(flatten({k: report[k] for k in ("splits", "dropped", "answer_cases")}))
        mlflow.log_artifact(str(config.report))
    return report
