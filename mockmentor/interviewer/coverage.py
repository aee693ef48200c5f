"""Which key points of a reference answer a text covers: the one rule everything shares.

Two pieces of evidence decide it: how close the point is to the answer (MiniLM cosine between
the point and the whole answer or any of its sentences) and how good the answer is as a whole
(the answer's score: the graders' in training data, the scorer's in the service). Similarity
alone misses paraphrases ("degree 0" for "no children") and rewards answers that echo the
question's words; the score alone cannot tell which of two points an answer made. So the rule
is a logistic model of both, fitted in `build_dialogues` on the written demonstrations, whose
writers judged for every answer which points it makes (data/coverage_fit.py); nothing in it is
set by hand. A point is covered when the model's probability reaches one half.

The rule travels with the model: `build_dialogues` writes the `CoverageRule` it fitted beside
the dialogues, `train_interviewer` copies it into interviewer.json, and the evaluation and the
service read it from there.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")


@dataclass(frozen=True)
class CoverageRule:
    """Which points an answer covers: P(covered) = sigmoid(w_sim * cosine + w_score * score + bias)."""

    encoder: str  # a name in configs/models.yaml
    similarity_weight: float
    score_weight: float
    bias: float
    wrong: float  # answers scored at most this are off track (the plan's verdict)

    def __post_init__(self) -> None:
        if self.similarity_weight < 0 or self.score_weight < 0:
            raise ValueError("a closer or better answer cannot cover less: the weights must be >= 0")
        if not 0 <= self.wrong <= 5:
            raise ValueError(f"wrong must be within 0-5, got {self.wrong}")

    def probability(self, similarity: float, score: float) -> float:
        z = self.similarity_weight * similarity + self.score_weight * score + self.bias
        return 1 / (1 + math.exp(-z))

    def covered(self, similarities: Sequence[float], score: float) -> list[bool]:
        return [self.probability(float(s), score) >= 0.5 for s in similarities]

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def read(cls, path: Path) -> CoverageRule:
        if not path.is_file():
            raise FileNotFoundError(f"{path}: missing; run `dvc repro build_dialogues` first")
        return cls(**json.loads(path.read_text()))


# Key points a service keeps embedded (a question bank's are a few thousand, 1.5 KB each).
KEPT_POINTS = 50_000


def text_units(text: str) -> list[str]:
    """The whole text plus each of its sentences (a point may hide inside a long answer)."""
    text = " ".join(text.split())
    sentences = [s for s in _SENTENCE_END.split(text) if len(s.split()) >= 2]
    return [text, *sentences] if len(sentences) > 1 else [text]


class KeyPointCoverage:
    """Embedding similarity between key points and an answer; one encoder, loaded once."""

    def __init__(self, encoder_dir: Path, batch_size: int = 64) -> None:
        from sentence_transformers import SentenceTransformer

        self.encoder = SentenceTransformer(str(encoder_dir), device="cpu")
        self.batch_size = batch_size
        self.kept: dict[str, np.ndarray] = {}  # key points embedded ahead of the answers (`prepare`)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.encoder.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True
        )

    def prepare(self, points: Sequence[str]) -> None:
        """Embed a question's key points now and keep them, so that judging an answer to it later
        embeds only the answer (the voice service calls this while the question is asked)."""
        new = [p for p in dict.fromkeys(points) if p not in self.kept]
        if new:
            # Copied, never changed in place: a call in flight reads the dict it started with.
            kept = self.kept if len(self.kept) < KEPT_POINTS else {}
            self.kept = {**kept, **dict(zip(new, self.embed(new), strict=True))}

    def similarities(self, texts: Sequence[str], points: Sequence[Sequence[str]]) -> list[np.ndarray]:
        """For each text, the best similarity of each of its points to any unit of the text."""
        units = [text_units(text) for text in texts]
        # Embed every distinct string once (answers repeat points across a batch), except the
        # points kept by `prepare`.
        kept = self.kept
        wanted = {u for us in units for u in us} | {p for ps in points for p in ps}
        distinct = sorted(wanted - kept.keys())
        vector = dict(zip(distinct, self.embed(distinct), strict=True)) if distinct else {}
        best = []
        for text_units_, text_points in zip(units, points, strict=True):
            if not text_points:
                best.append(np.zeros(0))
                continue
            u = np.stack([vector[s] if s in vector else kept[s] for s in text_units_])
            p = np.stack([vector[s] if s in vector else kept[s] for s in text_points])
            best.append((p @ u.T).max(axis=1))
        return best
