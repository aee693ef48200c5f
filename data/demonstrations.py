"""The written demonstration set: feedback turns written by hand, one for each answer.

The interviewer learns from these instead of templates (see data/raw/demonstrations/PROVENANCE.txt
for who wrote them and how). Two kinds of file live under data/raw/demonstrations/:

  mohler/*.yaml  a list of turns, each for one real Mohler student answer (`answer: mohler-3.4.12`)
  bank/*.yaml    a list of bank questions (`question: feh-js-…`), each with the key points a person
                 would say (bank references are often word lists or long definitions) and answers
                 written as real candidates give them, each with its turn

Every turn follows the contract of mockmentor/interviewer/turn.py:
  right  (a) one sentence on what the answer got right, in the candidate's own terms, or that it
             is off track;
  gap    (b) one sentence on what is missing or wrong and why it matters, without stating it
             (omitted when the answer is complete);
  ask    (c) exactly one question: a hint toward key point `hint`; omitted when the answer is
             complete, where the next planned question is asked instead.
`covered` lists the key points (numbered from 1) the writer judged the answer to make.

`check` holds each turn to the contract against its record: it parses as a feedback turn, and
leaks none of the points the answer missed (mockmentor/interviewer/leak.py). A turn that fails
is an error naming the file, the item and the field, never a silent drop.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mockmentor.interviewer.leak import leaked_points
from mockmentor.interviewer.turn import VERDICTS, TurnFormatError, Verdict, parse_turn
from mockmentor.interviewer.turn_diversity import diversity
from mockmentor.records import NonEmpty, RecordError

__all__ = ["VERDICTS", "Demonstration", "diversity", "files", "load", "records"]
# Stands in for the next planned question when a complete answer's turn is checked.
NEXT_PLACEHOLDER = "What would you ask next in this interview?"


class WrittenTurn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    verdict: Verdict
    covered: list[int] = Field(default_factory=list, description="key points the answer makes (1-based)")
    hint: int | None = Field(default=None, description="the key point the question leads toward")
    right: NonEmpty
    gap: NonEmpty | None = None
    ask: NonEmpty | None = None

    @model_validator(mode="after")
    def _contract(self) -> WrittenTurn:
        if self.verdict == "complete":
            if self.ask is not None or self.hint is not None:
                raise ValueError("a complete answer's turn asks the next planned question: no ask, no hint")
        else:
            if self.ask is None:
                raise ValueError(f"a {self.verdict} turn needs its one question in `ask`")
            if self.verdict in ("partial", "off_track") and self.hint is None:
                raise ValueError(f"a {self.verdict} turn names the key point its question leads toward")
            if self.hint is not None and self.hint in self.covered:
                raise ValueError("`hint` points at a key point the answer already covers")
        return self

    @property
    def written(self) -> str:
        """The words the writer wrote (a complete answer's turn has no question of its own)."""
        return " ".join(part for part in (self.right, self.gap, self.ask) if part)

    def spoken(self, next_question: str | None = None) -> str:
        """The turn as spoken; a complete answer's turn ends with the next planned question."""
        ask = self.ask or next_question or NEXT_PLACEHOLDER
        return " ".join(part for part in (self.right, self.gap, ask) if part)


class MohlerTurn(WrittenTurn):
    answer: NonEmpty = Field(description="id of a Mohler answer in data/processed/answers.parquet")


class BankAnswer(WrittenTurn):
    text: NonEmpty = Field(description="the candidate's answer, written by the project")


class BankQuestion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    question: NonEmpty = Field(description="id of a bank question in data/processed/bank.parquet")
    key_points: list[NonEmpty] = Field(min_length=1, max_length=6)
    answers: list[BankAnswer] = Field(min_length=1)


@dataclass(frozen=True)
class Demonstration:
    """One written turn with everything it was written against."""

    id: str
    file: str
    source: Literal["mohler", "bank"]
    topic: str
    question_id: str
    question: str
    key_points: list[str]
    answer: str
    score: float | None  # the graders' mean for a Mohler answer; bank answers have none
    turn: WrittenTurn

    @property
    def missed(self) -> list[str]:
        return [p for i, p in enumerate(self.key_points, 1) if i not in self.turn.covered]

    @property
    def covered(self) -> list[str]:
        return [p for i, p in enumerate(self.key_points, 1) if i in self.turn.covered]

    @property
    def hint_point(self) -> str | None:
        return self.key_points[self.turn.hint - 1] if self.turn.hint else None


def _items(path: Path, model: type[BaseModel]) -> list[tuple[int, BaseModel]]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise RecordError(path, mark.line + 1 if mark else 1, "<yaml>", str(err).splitlines()[0]) from None
    if not isinstance(raw, list):
        raise RecordError(path, 1, "<file>", "expected a YAML list of items")
    items = []
    for number, item in enumerate(raw, 1):
        try:
            items.append((number, model.model_validate(item)))
        except ValidationError as err:
            first = err.errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or "<item>"
            raise RecordError(path, number, field, first["msg"].removeprefix("Value error, ")) from None
    return items


def files(folder: Path) -> list[Path]:
    """The demonstration files under `folder`, Mohler turns first."""
    return sorted((folder / "mohler").glob("*.yaml")) + sorted((folder / "bank").glob("*.yaml"))


def load(paths: list[Path], questions: dict[str, dict], answers: dict[str, dict]) -> list[Demonstration]:
    """Every written turn in `paths`, resolved against the processed records and checked.

    `questions` maps question ids (Mohler and bank) to their records, `answers` Mohler answer
    ids to theirs. RecordError names the file, the item number (counting from 1) and the field.
    """
    demonstrations: list[Demonstration] = []
    for path in paths:
        if path.parent.name == "bank":
            continue
        for number, turn in _items(path, MohlerTurn):
            answer = answers.get(turn.answer)
            if answer is None:
                raise RecordError(path, number, "answer", f"no Mohler answer {turn.answer!r}")
            question = questions[answer["question_id"]]
            demonstrations.append(
                _checked(
                    path,
                    number,
                    "mohler",
                    turn.answer,
                    question,
                    list(question["key_points"]),
                    answer["text"],
                    float(answer["score"]),
                    turn,
                )
            )
    for path in (p for p in paths if p.parent.name == "bank"):
        for number, item in _items(path, BankQuestion):
            question = questions.get(item.question)
            if question is None:
                raise RecordError(path, number, "question", f"no bank question {item.question!r}")
            for index, answer in enumerate(item.answers, 1):
                demonstrations.append(
                    _checked(
                        path,
                        number,
                        "bank",
                        f"{item.question}#{index}",
                        question,
                        list(item.key_points),
                        answer.text,
                        None,
                        answer,
                        where=f"answers.{index}",
                    )
                )
    seen = Counter(d.id for d in demonstrations)
    if repeated := [i for i, n in seen.items() if n > 1]:
        raise RecordError(paths[0].parent, 1, "answer", f"written twice: {', '.join(sorted(repeated))}")
    return demonstrations


def _checked(
    path: Path,
    number: int,
    source: Literal["mohler", "bank"],
    demo_id: str,
    question: dict,
    key_points: list[str],
    answer: str,
    score: float | None,
    turn: WrittenTurn,
    where: str = "",
) -> Demonstration:
    prefix = f"{where}." if where else ""
    for field in ("covered", "hint"):
        values = getattr(turn, field)
        values = values if isinstance(values, list) else [values] if values is not None else []
        if bad := [v for v in values if not 1 <= v <= len(key_points)]:
            raise RecordError(
                path, number, prefix + field, f"no key point {bad[0]} (there are {len(key_points)})"
            )
    for field in ("right", "gap"):
        text = getattr(turn, field)
        if text and (len([s for s in text.split(". ") if s]) > 1 or "?" in text):
            raise RecordError(path, number, prefix + field, "must be one sentence and no question")
    demo = Demonstration(
        id=demo_id,
        file=path.name,
        source=source,
        topic=str(question["topic"]),
        question_id=str(question["id"]),
        question=str(question["text"]),
        key_points=key_points,
        answer=answer,
        score=score,
        turn=turn,
    )
    try:
        parse_turn(turn.spoken(), "feedback")
    except TurnFormatError as err:
        raise RecordError(path, number, prefix + "ask", str(err)) from None
    if leaked := leaked_points(turn.spoken(), demo.missed, demo.question, demo.answer):
        raise RecordError(path, number, prefix + "turn", f"gives away a missed key point: {leaked[0]!r}")
    return demo


def records(processed_dir: Path) -> tuple[dict[str, dict], dict[str, dict]]:
    """Question records (Mohler and bank) and Mohler answers by id, as `load` resolves them."""
    import pandas as pd

    frames = [pd.read_parquet(processed_dir / f"{name}.parquet") for name in ("questions", "bank")]
    questions = {row["id"]: row for frame in frames for row in frame.to_dict("records")}
    answers = pd.read_parquet(processed_dir / "answers.parquet").to_dict("records")
    return questions, {row["id"]: row for row in answers}
