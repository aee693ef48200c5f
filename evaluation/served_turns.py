"""What the candidate hears: the tuned model's reply as the service speaks it.

The service does not speak the model's raw words. An answer the scorer flags as not addressing
the question never reaches the model: the candidate hears the retry line and the question again.
Every other reply goes through the guard (mockmentor/interviewer/guard.py), which keeps the
model's sentences while they keep the turn contract, drops any that gives a missed point away,
and completes what is missing (a lead, the hint question, the plan's next question) from lines
that name no point. Measuring both the raw replies and these turns shows what the model writes
and what the guard has to repair.
"""

from __future__ import annotations

from typing import NamedTuple

from mockmentor.interviewer.guard import (
    CLOSING,
    ENDED,
    OFF_TOPIC,
    Opening,
    guarded_feedback,
    sentence_stream,
)
from mockmentor.interviewer.turn import AnswerFacts


class ServedTurn(NamedTuple):
    text: str
    repaired: bool  # the guard put in a line of its own (a lead or a hint)
    guard_hint: bool  # the hint question is the guard's, not the model's


def served_turn(reply: str, facts: dict, seed: int, opening_words: int = 0) -> ServedTurn:
    """The turn the service would speak for `reply`, whether the guard had to repair it (put in
    a line of its own where the model's was missing or broke the contract; the plan's next
    question after a complete answer is the design, not a repair), and whether its hint question
    is the guard's. `opening_words`: the first sentence's opening clause is spoken ahead of it
    (the service's first_clause_words with early_opening); its parts are joined back here."""
    answer = AnswerFacts(**facts)
    if answer.verdict == "off_topic":
        return ServedTurn(f"{OFF_TOPIC} {answer.question}", False, False)
    read = list(sentence_stream(iter([reply]), opening_words))
    written = [s for s in read if not isinstance(s, Opening)]  # the model's sentences, whole
    probe = answer.hint is not None
    parts = [
        part
        for part, _ in guarded_feedback(
            iter(read), answer, probe=probe, next_text=answer.next_question, seed=seed
        )
    ]
    spoken = _sentences(parts)
    # what the plan says after a complete answer: the next question, or the closing line
    planned = f"Next question: {answer.next_question}" if answer.next_question else CLOSING
    repaired = any(s not in written and s != planned for s in spoken)
    return ServedTurn(" ".join(spoken), repaired, probe and spoken[-1] not in written)


def _sentences(parts: list[str]) -> list[str]:
    """The guard's parts as sentences: an opening clause spoken ahead and the rest of its sentence
    are one sentence again."""
    sentences: list[str] = []
    for part in parts:
        if sentences and not ENDED.search(sentences[-1]):
            sentences[-1] = f"{sentences[-1]} {part}"
        else:
            sentences.append(part)
    return sentences
