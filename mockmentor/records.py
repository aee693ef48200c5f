"""Typed records every data stage reads and writes (the contracts in DESIGN.md).

A malformed source row never reaches a parquet file: `parse_record` turns pydantic's
error into a `RecordError` that names the file, the line and the field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Score = Annotated[float, Field(ge=0.0, le=5.0)]


class RecordError(ValueError):
    """A source row that does not fit its schema; the message is meant for the user."""

    def __init__(self, file: Path | str, line: int, field: str, problem: str) -> None:
        self.file, self.line, self.field, self.problem = str(file), line, field, problem
        super().__init__(f"{file}:{line}: field '{field}': {problem}")


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Question(Record):
    """A question with the answer a grader (or interviewer) expects."""

    id: NonEmpty
    source: NonEmpty
    topic: NonEmpty
    text: NonEmpty
    reference_answer: NonEmpty
    key_points: list[NonEmpty] = Field(min_length=1)
    licence: NonEmpty
    difficulty: Literal["easy", "medium", "hard"] | None = None


class Answer(Record):
    """One candidate's answer to a question with its human scores on the 0–5 scale."""

    id: NonEmpty
    question_id: NonEmpty
    text: NonEmpty
    score: Score = Field(description="gold label: the graders' average")
    grader1: Score | None = None
    grader2: Score | None = None
    source: NonEmpty


class RatedTurn(Record):
    """An interviewer turn a candidate rated in the service (exported by `collect_ratings`)."""

    turn_id: NonEmpty
    kind: Literal["opener", "feedback"]
    topic: NonEmpty
    messages: list[dict[str, str]] = Field(min_length=1)
    reply: NonEmpty
    rating: int = Field(ge=1, le=5)
    candidate_score: Score | None = None


R = TypeVar("R", bound=Record)


def parse_record(model: type[R], data: dict, file: Path | str, line: int) -> R:
    """Validate one row, or raise RecordError naming where it came from."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "<row>"
        raise RecordError(file, line, field, first["msg"]) from None


def read_records(path: Path, model: type[R]) -> Iterator[tuple[int, R]]:
    """(line number, record) for each non-blank line of a JSON-lines file.

    A line that is not JSON or does not fit `model` stops the reader with a RecordError
    naming the file, the line and the field: a hand-edited or merged export is never
    half-read into training.
    """
    with path.open("rb") as lines:
        for line_no, raw in enumerate(lines, 1):
            if not raw.strip():
                continue
            try:
                data = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError:
                raise RecordError(path, line_no, "<row>", "not UTF-8 text") from None
            except json.JSONDecodeError as err:
                raise RecordError(path, line_no, "<row>", f"not JSON ({err.msg})") from None
            if not isinstance(data, dict):
                raise RecordError(path, line_no, "<row>", "not a JSON object")
            yield line_no, parse_record(model, data, path, line_no)


def text_key(text: str) -> str:
    """Case- and whitespace-insensitive form of a text, for finding the same answer twice."""
    return re.sub(r"\s+", " ", text).strip().casefold()
