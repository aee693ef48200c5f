"""The leak rule: does an interviewer turn hand over a point the candidate has not made?

A real interviewer never reads the answer key aloud mid-interview. A turn leaks a missed key
point when it contains the point word for word, or at least `share` (60 %) of the point's
content words in the point's own order. Words the question itself uses do not count: asking
about "the stack" is fair when the question is about stacks. Words are compared crudely
singular and lower-cased, so "Pointers" and "pointer" are one word.

The same rule checks the written demonstrations (none may leak), trains nothing, and scores
the tuned model in `evaluate_interviewer`; `tests/test_leak.py` holds verbatim and
near-verbatim quotes it must catch and honest hints it must pass.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from mockmentor.word_order import in_order

LEAK_SHARE = 0.6
# Function words only. General stop lists (sklearn's) also drop "first", "last", "once", "no",
# "never", "least", "before": in a key point those carry the fact ("last in, first out",
# "executes at least once", "has no children").
FUNCTION_WORDS = frozenset(
    {
        "a", "an", "the", "this", "that", "these", "those", "it", "its", "it's", "they", "them", "their",
        "there", "here", "is", "are", "was", "were", "be", "been", "being", "am", "do", "does", "did",
        "doing", "done", "has", "have", "had", "having", "will", "would", "shall", "should", "can",
        "could", "may", "might", "must", "of", "to", "in", "on", "at", "by", "for", "with", "from", "into",
        "onto", "as", "and", "or", "but", "so", "if", "then", "than", "because", "while", "also", "very",
        "just", "too", "i", "you", "he", "she", "we", "me", "my", "your", "our", "his", "her", "what",
        "which", "who", "whom", "whose", "when", "where", "why", "how", "about", "some", "any", "such",
        "one", "ones", "thing", "things", "way", "like", "really", "basically", "well", "um", "uh",
    }
)  # fmt: skip
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def content_words(text: str) -> list[str]:
    """Content words in order, crudely singular ("children" stays, "pointers" -> "pointer")."""
    return [
        w[:-1] if w.endswith("s") and not w.endswith("ss") and len(w) > 3 else w
        for w in words(text)
        if w not in FUNCTION_WORDS and len(w) > 1
    ]


def leaked_share(text: str, point: str, question: str = "") -> float:
    """The share of the point's own content words (not the question's) the text says in order."""
    asked = set(content_words(question))
    own = [w for w in content_words(point) if w not in asked]
    if not own:
        return 0.0
    return in_order(own, content_words(text)) / len(own)


def verbatim(text: str, point: str) -> bool:
    said, quoted = " ".join(words(text)), " ".join(words(point))
    return bool(quoted) and f" {quoted} " in f" {said} "


def leaks(text: str, point: str, question: str = "", share: float = LEAK_SHARE) -> bool:
    return verbatim(text, point) or leaked_share(text, point, question) >= share


def leaked_points(
    text: str, points: Sequence[str], question: str = "", share: float = LEAK_SHARE
) -> list[str]:
    """The points among `points` (the ones the candidate missed) that the text gives away."""
    return [p for p in points if leaks(text, p, question, share)]
