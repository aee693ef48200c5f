"""Delivery analytics of a spoken answer, from Whisper's word timestamps.

Filler words are counted as phrases ("you know" is one filler, not two words) on the
lower-cased transcript with punctuation removed, so "I like it" would count "like": the
list is configurable for that reason. Whisper itself drops many "um"s and "uh"s, so the
filler count is a lower bound.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise

from pydantic import BaseModel, Field


@dataclass(frozen=True)
class Word:
    text: str
    start: float
    end: float


class Delivery(BaseModel):
    words: int = Field(description="words in the answer")
    speaking_seconds: float | None = Field(description="first word start to last word end")
    words_per_minute: float | None = Field(description="speaking rate over the speaking time")
    fillers: dict[str, int] = Field(description="filler phrases and how often each was said")
    filler_count: int
    long_pauses: int = Field(description="silences between words longer than the pause threshold")
    longest_pause_seconds: float | None


def _normalised(text: str) -> str:
    return " " + " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split()) + " "


def count_fillers(text: str, fillers: list[str]) -> dict[str, int]:
    """Occurrences of each filler phrase; longer phrases first so "you know" is not also "know"."""
    remaining, counts = _normalised(text), Counter()
    for phrase in sorted(fillers, key=lambda p: -len(p.split())):
        needle = f" {' '.join(phrase.lower().split())} "
        while needle in remaining:
            counts[phrase] += 1
            remaining = remaining.replace(needle, " ", 1)
    return dict(counts)


def delivery(transcript: str, words: list[Word] | None, fillers: list[str], pause_seconds: float) -> Delivery:
    """Analytics for one answer; timing fields are None for typed answers (no timestamps)."""
    found = count_fillers(transcript, fillers)
    count = len(transcript.split())
    if not words:
        return Delivery(
            words=count,
            speaking_seconds=None,
            words_per_minute=None,
            fillers=found,
            filler_count=sum(found.values()),
            long_pauses=0,
            longest_pause_seconds=None,
        )
    span = max(words[-1].end - words[0].start, 1e-6)
    gaps = [later.start - earlier.end for earlier, later in pairwise(words)]
    return Delivery(
        words=len(words),
        speaking_seconds=round(span, 2),
        words_per_minute=round(len(words) / span * 60, 1),
        fillers=found,
        filler_count=sum(found.values()),
        long_pauses=sum(gap > pause_seconds for gap in gaps),
        longest_pause_seconds=round(max(gaps), 2) if gaps else 0.0,
    )
