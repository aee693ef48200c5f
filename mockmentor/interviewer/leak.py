"""The leak rule: does an interviewer turn hand over a point the candidate has not made?

A real interviewer never reads the answer key aloud mid-interview. A turn leaks a missed key
point when it contains the point word for word, or at least `share` (60 %) of the point's
content words in the point's own order. Words the question itself uses do not count: asking
about "the stack" is fair when the question is about stacks. Words are compared crudely
singular and lower-cased, so "Pointers" and "pointer" are one word.

A key point often holds two or three facts ("They both involve repetition; they both have
termination tests; they can both occur infinitely."), and a turn that hands over one of them
("... and both have termination tests") gives it away as surely, though it says too little of
the whole point for the rule above. So each clause of a point is checked too (`leaked_fact`):
a clause with at least two words of its own, neither the question's nor the candidate's (a turn
may say back what the candidate said), leaks when 60 % of those words, and at least two, fall
in order within a short span of the turn. The span keeps a hint that shares two common words
with a clause far apart from counting as a quote of it.

The same rule checks the written demonstrations (none may leak), trains nothing, and scores
the tuned model in `evaluate_interviewer`; `tests/test_leak.py` holds verbatim and
near-verbatim quotes it must catch and honest hints it must pass.
"""

from __future__ import annotations

import math
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
# Where one fact of a key point ends and the next begins.
_CLAUSE = re.compile(r"[;,:()]|\.\s|\b(?:then|whereas|while|but)\b")
FACT_WORDS = 2  # a clause with fewer words of its own states no fact worth guarding
FACT_SPAN_SLACK = 2  # other words of the turn allowed among the words that give a fact away


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
    """The whole point, quoted or nearly (the issue's measure of a leak)."""
    return verbatim(text, point) or leaked_share(text, point, question) >= share


def facts(point: str) -> list[str]:
    """The clauses of a key point, each stating at most one fact."""
    return [clause.strip() for clause in _CLAUSE.split(point) if clause.strip()]


def leaked_fact(text: str, point: str, question: str = "", answer: str = "") -> str | None:
    """The first clause of `point` the text says within a short span, counting only the words
    neither the question nor the candidate's answer brought."""
    known = set(content_words(question)) | set(content_words(answer))
    said = content_words(text)
    for fact in facts(point):
        own = [w for w in content_words(fact) if w not in known]
        if len(own) < FACT_WORDS:
            continue
        need = max(FACT_WORDS, math.ceil(LEAK_SHARE * len(own)))
        span = need + FACT_SPAN_SLACK
        starts = range(max(1, len(said) - span + 1))
        if any(in_order(own, said[i : i + span]) >= need for i in starts):
            return fact
    return None


def leaked_points(
    text: str, points: Sequence[str], question: str = "", answer: str = "", share: float = LEAK_SHARE
) -> list[str]:
    """The points among `points` (the ones the candidate missed) that the text gives away, whole
    or one fact of them."""
    return [p for p in points if leaks(text, p, question, share) or leaked_fact(text, p, question, answer)]
