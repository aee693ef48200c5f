"""The questions a session can ask, and the plan of questions for one session.

Questions come from `prepare`'s records (Mohler course questions and the licensed
interview banks); only those that work as one spoken question are kept (the same
`conversational` rule the interviewer was trained on). A job description, when given,
ranks the allowed questions by MiniLM similarity to it; otherwise the plan is a random
draw. Difficulty filters only questions whose source labels it; unlabelled ones stay.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from mockmentor.interviewer.templates import conversational
from mockmentor.scorer.scorer import MAX_ANSWER_CHARS


@dataclass(frozen=True)
class BankQuestion:
    id: str
    topic: str
    text: str  # as written in the source
    spoken: str  # one conversational question, as the interviewer asks it
    reference: str
    key_points: list[str]
    source: str


class PlanError(ValueError):
    """A role/topic/difficulty with no questions; the message says what exists."""


class QuestionBank:
    def __init__(self, processed_dir: Path, roles: dict[str, list[str]]) -> None:
        frames = [pd.read_parquet(processed_dir / name) for name in ("questions.parquet", "bank.parquet")]
        rows = pd.concat(frames, ignore_index=True).drop_duplicates("id")
        self.questions: dict[str, BankQuestion] = {}
        self.difficulty: dict[str, str | None] = {}
        for row in rows.itertuples():
            spoken = conversational(row.text)
            if spoken is None:
                continue
            self.questions[row.id] = BankQuestion(
                row.id,
                row.topic,
                row.text,
                spoken,
                # The scorer takes references up to MAX_ANSWER_CHARS (one system-design solution is
                # longer); it reads only the first max_length tokens of a reference anyway.
                row.reference_answer[:MAX_ANSWER_CHARS],
                list(row.key_points),
                row.source,
            )
            self.difficulty[row.id] = row.difficulty if isinstance(row.difficulty, str) else None
        self.topics = sorted({q.topic for q in self.questions.values()})
        unknown = {t for ts in roles.values() for t in ts} - set(self.topics)
        if unknown:
            raise PlanError(f"configs/serving.yaml roles name unknown topics: {sorted(unknown)}")
        self.roles = roles
        self._vectors: np.ndarray | None = None
        self._order = list(self.questions)

    def use_key_points(self, written: dict[str, list[str]]) -> None:
        """Judge and report these questions by key points people wrote (the bank's references are
        often word lists or whole design documents); they are also the report's strong answer."""
        for qid, points in written.items():
            if qid in self.questions and points:
                self.questions[qid] = replace(self.questions[qid], key_points=list(points))

    @property
    def references(self) -> dict[str, str]:
        """Question id -> what a strong answer would say, for the session report: its key points
        (plain sentences, code and markup left out; written by people where the bank's reference
        reads badly)."""
        return {q.id: " ".join(q.key_points) for q in self.questions.values()}

    def embed_all(self, embed: Callable[[list[str]], np.ndarray]) -> None:
        """Precompute question vectors once, for job-description ranking."""
        self._vectors = embed([self.questions[q].text for q in self._order])

    def plan(
        self,
        role: str,
        topic: str | None,
        difficulty: str,
        count: int,
        seed: int,
        job_vector: np.ndarray | None = None,
    ) -> list[str]:
        if role not in self.roles:
            raise PlanError(f"unknown role '{role}'; choose one of {sorted(self.roles)}")
        topics = [topic] if topic else self.roles[role]
        if topic and topic not in self.roles[role]:
            raise PlanError(f"topic '{topic}' is not part of role '{role}'; choose one of {self.roles[role]}")
        allowed = [
            i
            for i, q in enumerate(self._order)
            if self.questions[q].topic in topics and self.difficulty[q] in (None, difficulty)
        ]
        if not allowed:
            raise PlanError(f"no questions for role '{role}', topic '{topic}', difficulty '{difficulty}'")
        if job_vector is not None and self._vectors is not None:
            similarity = self._vectors[allowed] @ job_vector
            picked = [allowed[i] for i in np.argsort(-similarity, kind="stable")[:count]]
        else:
            picked = random.Random(seed).sample(allowed, min(count, len(allowed)))
        return [self._order[i] for i in picked]
