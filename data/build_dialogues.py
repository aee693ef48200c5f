"""DVC stage `build_dialogues`: the interviewer's training turns, from the written demonstrations.

Reads only the `build_dialogues` section of configs/interviewer.yaml and writes
  data/dialogues/{train,val,eval}.jsonl   one example per line: kind, messages, target, facts
  data/dialogues/coverage.json            the coverage rule, fitted to the written judgements
                                          (data/coverage_fit.py): the service decides covered/missed by it
  data/dialogues/key_points.json          the written key points of bank questions (id -> points)
  data/dialogue_report.json               counts per split, verdict and topic, the set's
                                          diversity, and the writers' verdicts against the graders

Every feedback target is a turn written by hand for its own answer (data/raw/demonstrations,
see data/demonstrations.py); no template writes a target. The prompt carries what the plan
would decide for that answer: the writer's verdict, the points the answer made, the missed
point the hint leads toward, or the next planned question when the answer is complete.
Whole questions are held out: Mohler UQ fold `eval_fold` and the bank's test questions are the
evaluation set, fold `val_fold` and the bank's val questions the validation set.

Turns candidates rated in the service (`collected_turns`, written by `collect_ratings`) join
the training split when the file is present: a well-formed turn rated at least `min_rating`
becomes an example with its own reply as the target, tagged source "collected"; evaluation
stays on the written turns.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from dataclasses import asdict, field
from pathlib import Path

import pandas as pd
from pydantic.dataclasses import dataclass
from sklearn.metrics import cohen_kappa_score, confusion_matrix

from mockmentor.config import STRICT, load_section
from mockmentor.interviewer.coverage import KeyPointCoverage
from mockmentor.interviewer.score_bands import BANDS, band
from mockmentor.interviewer.templates import conversational
from mockmentor.interviewer.turn import AnswerFacts, TurnFormatError, feedback_messages, parse_turn
from mockmentor.model_assets import resolve
from mockmentor.records import RatedTurn, read_records, text_key

from .coverage_fit import confusion, fit, fitted_rule, hand_set_rule, point_rows
from .demonstrations import Demonstration, diversity, files, load, records

SPLITS = ("train", "val", "eval")


@dataclass(config=STRICT)
class BuildDialoguesConfig:
    processed_dir: Path = field(metadata={"help": "records written by `prepare`"})
    splits_dir: Path = field(metadata={"help": "splits written by `prepare`"})
    demonstrations_dir: Path = field(metadata={"help": "the written turns (data/raw/demonstrations)"})
    output_dir: Path = field(metadata={"help": "where {train,val,eval}.jsonl are written"})
    report: Path = field(metadata={"help": "counts, diversity and verdict agreement (a DVC metric)"})
    encoder: str = field(metadata={"help": "sentence encoder for the coverage rule (configs/models.yaml)"})
    full_marks: float = field(metadata={"help": "graders' band: an answer scored at least this is complete"})
    wrong: float = field(metadata={"help": "graders' band: at most this is off track (also the plan's)"})
    eval_fold: int = field(metadata={"help": "UQ fold whose questions are held out for evaluation"})
    val_fold: int = field(metadata={"help": "UQ fold whose questions are held out for validation"})
    answer_words: int = field(metadata={"help": "answers are cut to this many words in the prompt"})
    seed: int = field(metadata={"help": "shuffling seed"})
    collected_turns: Path = field(metadata={"help": "rated turns from the service (used when present)"})
    min_rating: int = field(metadata={"help": "collected turns rated below this are not trained on"})

    def __post_init__(self) -> None:
        if self.eval_fold == self.val_fold:
            raise ValueError("eval_fold and val_fold must differ")
        if not 0 <= self.wrong < self.full_marks <= 5:
            raise ValueError("the graders' bands need 0 <= wrong < full_marks <= 5")
        if not 1 <= self.min_rating <= 5:
            raise ValueError("min_rating must be within 1-5")


def cut_words(text: str, limit: int) -> str:
    words = text.split()
    return " ".join(words[:limit]) + (" …" if len(words) > limit else "")


def next_questions(questions: pd.DataFrame, bank: pd.DataFrame) -> dict[str, str]:
    """The question the plan asks after each one: Mohler in the course's own order
    ("mohler-3.4": assignment 3, question 4), bank questions in their topic's bank order."""
    order = sorted(questions.index, key=lambda q: tuple(int(n) for n in re.findall(r"\d+", q)))
    following = {q: questions.loc[order[(i + 1) % len(order)], "text"] for i, q in enumerate(order)}
    for _, group in bank.groupby("topic", sort=True):
        spoken = [(row.id, conversational(row.text)) for row in group.itertuples()]
        askable = [text for _, text in spoken if text]
        for i, (qid, _) in enumerate(spoken):
            if askable:
                following[qid] = askable[(i + 1) % len(askable)]
    return following


def example(demo: Demonstration, next_question: str | None, answer_words: int) -> dict:
    facts = AnswerFacts(
        topic=demo.topic,
        question=demo.question,
        answer=cut_words(demo.answer, answer_words),
        verdict=demo.turn.verdict,
        covered=demo.covered,
        missed=demo.missed,
        hint=demo.hint_point,
        next_question=next_question if demo.turn.verdict == "complete" else None,
    )
    return {
        "id": f"feedback:{demo.id}",
        "kind": "feedback",
        "source": demo.source,
        "topic": demo.topic,
        "question_id": demo.question_id,
        "case": demo.turn.verdict,
        "messages": feedback_messages(facts),
        "target": demo.turn.spoken(facts.next_question),
        "written": demo.turn.written,
        "score": demo.score,
        "facts": asdict(facts),
    }


def collected_examples(path: Path, min_rating: int) -> tuple[list[dict], dict[str, int]]:
    """Rated service turns worth training on, and counts of what was kept and why not.

    A turn exported twice (same id) or the same reply to the same prompt again counts once,
    with its first rating. Only feedback turns are kept: the opener is the plan's own sentence.
    """
    counts = {"read": 0, "low_rating": 0, "duplicate": 0, "opener": 0}
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
        if turn.kind != "feedback":  # openers are the plan's words, not the model's: nothing to learn
            counts["opener"] += 1
            continue
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
                "written": None,
                "score": turn.candidate_score,
                "facts": None,
            }
        )
    return examples, counts


def well_formed(examples: list[dict]) -> tuple[list[dict], int]:
    kept = []
    for item in examples:
        try:
            parse_turn(item["target"], item["kind"])
        except TurnFormatError:
            continue
        kept.append(item)
    return kept, len(examples) - len(kept)


def verdict_agreement(demos: list[Demonstration], full_marks: float, wrong: float) -> dict:
    """The writers' verdicts on real answers against the graders' score band (a check on the set)."""
    graded = [d for d in demos if d.score is not None]
    written = ["off_track" if d.turn.verdict == "off_topic" else d.turn.verdict for d in graded]
    graders = [band(d.score, full_marks, wrong) for d in graded]
    matrix = confusion_matrix(graders, written, labels=list(BANDS))
    return {
        "answers": len(graded),
        "cohen_kappa": round(float(cohen_kappa_score(graders, written, labels=list(BANDS))), 4),
        "confusion": {"rows_graders": list(BANDS), "columns_written": list(BANDS), "counts": matrix.tolist()},
    }


def main(config_path: Path = Path("configs/interviewer.yaml")) -> dict:
    config = load_section(config_path, "build_dialogues", BuildDialoguesConfig)
    questions = pd.read_parquet(config.processed_dir / "questions.parquet").set_index("id", drop=False)
    bank = pd.read_parquet(config.processed_dir / "bank.parquet")
    uq = pd.read_parquet(config.splits_dir / "uq.parquet").set_index("question_id")["fold"]
    bank_split = pd.read_parquet(config.splits_dir / "bank.parquet").set_index("id")["split"]
    split_of_fold = {config.eval_fold: "eval", config.val_fold: "val"}
    split_of = {q: split_of_fold.get(int(f), "train") for q, f in uq.items()}
    split_of |= {q: {"test": "eval"}.get(s, s) for q, s in bank_split.items()}

    by_id, answers = records(config.processed_dir)
    demos = load(files(config.demonstrations_dir), by_id, answers)
    following = next_questions(questions, bank)

    config.output_dir.mkdir(parents=True, exist_ok=True)
    # The coverage rule, fitted on the training questions' written judgements (travels with the model)
    rows = point_rows(demos, KeyPointCoverage(resolve(config.encoder)), split_of)
    rule = fit(rows[rows["split"] == "train"], config.encoder, config.wrong, config.seed)
    rule.write(config.output_dir / "coverage.json")
    held_out = rows[rows["split"] != "train"]
    coverage_report = {
        "rule": asdict(rule),
        "held_out": {
            "fitted": confusion(held_out, fitted_rule(rule), config.full_marks, config.wrong),
            "hand_set_before": confusion(held_out, hand_set_rule(), config.full_marks, config.wrong),
            # what similarity alone (the hand-set threshold, no score) would call
            "similarity_only": confusion(
                held_out, hand_set_rule(full_marks=6, wrong=-1), config.full_marks, config.wrong
            ),
        },
    }
    written_points = {d.question_id: d.key_points for d in demos if d.source == "bank"}
    (config.output_dir / "key_points.json").write_text(
        json.dumps(written_points, indent=1, sort_keys=True) + "\n"
    )
    report: dict = {"demonstrations": len(demos), "splits": {}, "dropped": {}, "coverage": coverage_report}
    for split in SPLITS:
        chosen = [d for d in demos if split_of[d.question_id] == split]
        examples, report["dropped"][split] = well_formed(
            [example(d, following.get(d.question_id), config.answer_words) for d in chosen]
        )
        if split == "train":
            collected, report["collected"] = collected_examples(config.collected_turns, config.min_rating)
            collected, malformed = well_formed(collected)
            report["collected"]["kept"], report["collected"]["malformed"] = len(collected), malformed
            examples += collected
        random.Random(config.seed).shuffle(examples)
        with (config.output_dir / f"{split}.jsonl").open("w", encoding="utf-8") as out:
            for item in examples:
                out.write(json.dumps(item, ensure_ascii=False) + "\n")
        report["splits"][split] = {
            "examples": len(examples),
            "questions": len({d.question_id for d in chosen}),
            "verdicts": dict(sorted(Counter(e["case"] for e in examples).items())),
            "topics": dict(sorted(Counter(e["topic"] for e in examples).items())),
        }
    report["diversity"] = diversity([d.turn.written for d in demos])
    report["verdict_vs_graders"] = verdict_agreement(demos, config.full_marks, config.wrong)
    config.report.parent.mkdir(parents=True, exist_ok=True)
    config.report.write_text(json.dumps(report, indent=2) + "\n")

    from mockmentor.tracking import flatten, stage_run

    with stage_run("build_dialogues", asdict(config)):
        import mlflow

        mlflow.log_metrics(flatten({k: report[k] for k in ("splits", "dropped")}))
        mlflow.log_metrics(
            {
                "distinct_trigrams_per_token": report["diversity"]["distinct_trigrams_per_token"],
                "verdict_kappa": report["verdict_vs_graders"]["cohen_kappa"],
                "coverage_balanced_accuracy": coverage_report["held_out"]["fitted"]["vs_writers"][
                    "balanced_accuracy"
                ],
            }
        )
        mlflow.log_artifact(str(config.report))
    return report
