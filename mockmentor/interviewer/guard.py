"""The reply guard: the interviewer's words, held to the turn contract as they stream.

The plan decides what is asked, the model words it. Feedback sentences come from the model
while they keep to the contract; whatever it did not deliver is completed from the plan and
the templates, so a candidate never hears a malformed turn. Each sentence is released the
moment it is complete, so speech can start before the model has finished.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

from .templates import COMPLETE, feedback_target, lower_first
from .turn import MAX_WORDS, ROLE_LEAK, AnswerFacts, parse_turn

CLOSING = "That was the last question; your report is ready."
_BOUNDARY = re.compile(r"(?<=[.!?])\s+")


def sentence_stream(pieces: Iterator[str]) -> Iterator[str]:
    """Complete sentences out of a token stream, each as soon as its end is seen."""
    buffer = ""
    for piece in pieces:
        buffer += piece
        *done, buffer = _BOUNDARY.split(buffer)
        yield from (s.strip() for s in done if s.strip())
    if buffer.strip():
        yield buffer.strip()


def guarded_feedback(
    model_sentences: Iterator[str], facts: AnswerFacts, probe: bool, next_text: str | None, seed: int
) -> Iterator[tuple[str, str]]:
    """(sentence, source) pairs of one feedback turn, each yielded as soon as it is ready.

    Feedback sentences come from the model while they keep to the contract (no speaker tags,
    at most two, within MAX_WORDS); its question is kept only when the plan is to probe and it
    quotes the missed point exactly.
    Whatever the model did not deliver is completed from the plan and the templates.
    """
    lead, words, source = 0, 0, "model"
    for sentence in model_sentences:
        words += len(sentence.split())
        if ROLE_LEAK.search(sentence) or words > MAX_WORDS:
            break
        if sentence.endswith("?"):
            if lead and probe and sentence.count("?") == 1 and quotes_point(sentence, facts.missed[0]):
                yield sentence, source
                return
            break  # no feedback before it, the plan moves on, or the point is misquoted
        if lead == 2:
            break  # a third feedback sentence: the model is rambling
        lead += 1
        yield sentence, source
    target = feedback_target(facts, random.Random(seed), score_rate=0.0)
    if lead == 0:
        source = "template"
        yield (parse_turn(target, "feedback").lead[0] if target else complete_lead(facts)), source
    elif source == "model":
        source = "model+plan"
    if probe and facts.missed and target:
        yield parse_turn(target, "feedback").question, source
    elif next_text:
        yield f"Next question: {next_text}", source
    else:
        yield CLOSING, source


def quotes_point(question: str, point: str) -> bool:
    """Whether a probe ends by quoting the missed point word for word, as it was trained to.

    The model sometimes drifts at the end of a long point ("... last-in-first-out) by the end
    of the day?"); a probe that does not quote the point exactly is asked from the template.
    """
    quoted = lower_first(point).lower()
    return question.lower().rstrip("?").rstrip().endswith(quoted) and len(question.split()) >= 3


def complete_lead(facts: AnswerFacts) -> str:
    point = facts.covered[0] if facts.covered else None
    return COMPLETE[0].format(point=lower_first(point)) if point else COMPLETE[2]
