"""Which key points of a reference answer a text covers: the one rule everything shares.

The dialogue builder uses it to decide what an answer got right and what it missed, the
interviewer's evaluation uses it to check that a follow-up probes a missed point, and the
service uses it to show covered/missing points. The rule: embed each sentence of the text
(and the whole text) with the MiniLM sentence encoder; a point is covered when its best
cosine similarity to any of them reaches `threshold` (set in configs/interviewer.yaml,
chosen on training answers: see the README's interviewer section).

The rule travels with the model: `build_dialogues` writes the `CoverageRule` it used beside
the dialogues, `train_interviewer` copies it into interviewer.json, and the evaluation and
the service read it from there, so they decide covered/missed exactly as training did.

Similarity misses paraphrases ("an endpoint of a tree with no pointers" for "a node that has
no children") and rewards answers that merely echo the question's words, so `score_guard`
lets the answer's score overrule it at the extremes: an answer scored as full marks covers
every point, one scored as wrong covers none. Between the two, similarity decides which
points were covered. The score is the human grade in training data and the scorer's in the
service.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")


@dataclass(frozen=True)
class CoverageRule:
    """Which points an answer covers: encoder + similarity threshold, overruled by the score."""

    encoder: str  # a name in configs/models.yaml
    threshold: float  # cosine at which a key point counts as covered
    full_marks: float  # answers scored at least this cover every point
    wrong: float  # answers scored at most this cover none

    def __post_init__(self) -> None:
        if not 0 < self.threshold < 1:
            raise ValueError(f"coverage threshold must be within (0, 1), got {self.threshold}")
        if not 0 <= self.wrong < self.full_marks <= 5:
            raise ValueError("the coverage rule needs 0 <= wrong < full_marks <= 5")

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def read(cls, path: Path) -> CoverageRule:
        if not path.is_file():
            raise FileNotFoundError(f"{path}: missing; run `dvc repro build_dialogues` first")
        return cls(**json.loads(path.read_text()))

    @classmethod
    def from_recipe(cls, path: Path | None = None) -> CoverageRule:
        """The rule `build_dialogues` is configured with (for a base model nobody trained)."""
        from mockmentor import REPO_ROOT
        from mockmentor.config import read_yaml

        section = read_yaml(path or REPO_ROOT / "configs" / "interviewer.yaml")["build_dialogues"]
        return cls(section["encoder"], section["coverage_threshold"], section["full_marks"], section["wrong"])

    def guard(self, covered: list[bool], score: float) -> list[bool]:
        return score_guard(covered, score, self.full_marks, self.wrong)


def text_units(text: str) -> list[str]:
    """The whole text plus each of its sentences (a point may hide inside a long answer)."""
    text = " ".join(text.split())
    sentences = [s for s in _SENTENCE_END.split(text) if len(s.split()) >= 2]
    return [text, *sentences] if len(sentences) > 1 else [text]


class KeyPointCoverage:
    """Embedding-similarity coverage of key points; one encoder, loaded once."""

    def __init__(self, encoder_dir: Path, threshold: float, batch_size: int = 64) -> None:
        from sentence_transformers import SentenceTransformer

        if not 0 < threshold < 1:
            raise ValueError(f"coverage threshold must be within (0, 1), got {threshold}")
        self.encoder = SentenceTransformer(str(encoder_dir), device="cpu")
        self.threshold = threshold
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.encoder.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True
        )

    def similarities(self, texts: Sequence[str], points: Sequence[Sequence[str]]) -> list[np.ndarray]:
        """For each text, the best similarity of each of its points to any unit of the text."""
        units = [text_units(text) for text in texts]
        # Embed every distinct string once: answers repeat points across a batch.
        distinct = sorted({u for us in units for u in us} | {p for ps in points for p in ps})
        index = {s: i for i, s in enumerate(distinct)}
        vectors = self.embed(distinct)
        best = []
        for text_units_, text_points in zip(units, points, strict=True):
            if not text_points:
                best.append(np.zeros(0))
                continue
            u = vectors[[index[s] for s in text_units_]]
            p = vectors[[index[s] for s in text_points]]
            best.append((p @ u.T).max(axis=1))
        return best

    def covered(self, texts: Sequence[str], points: Sequence[Sequence[str]]) -> list[list[bool]]:
        """For each text, whether each of its points is covered."""
        return [[bool(s >= self.threshold) for s in sims] for sims in self.similarities(texts, points)]


def score_guard(covered: list[bool], score: float, full_marks: float, wrong: float) -> list[bool]:
    """Coverage flags after the score overrules similarity at the extremes (see above)."""
    if score >= full_marks:
        return [True] * len(covered)
    if score <= wrong:
        return [False] * len(covered)
    return covered
