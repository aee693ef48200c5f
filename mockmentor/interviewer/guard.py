"""The reply guard: the interviewer's words, held to the turn contract as they stream.

The plan decides the verdict, which point to lead toward and what comes next; the model words
it. Sentences come from the model while they keep to the contract: no speaker tags, at most
two before the question, within MAX_WORDS, and none that gives away a point the candidate
missed (the leak rule, leak.py). When the plan leads toward a missed point the model's own
hint question is kept if it passes the same checks; when the answer is complete the plan's
next question is asked. Whatever the model did not deliver is completed from the templates,
which name no missed point either. Each sentence is released the moment it is complete, so
speech can start before the model has finished.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .leak import leaked_points
from .templates import fallback_hint, fallback_lead
from .turn import MAX_WORDS, ROLE_LEAK, AnswerFacts

CLOSING = "That was the last question; your report is ready."
# An answer the scorer flags as not addressing the question never reaches the model: no praise,
# the question again (once), then the next one.
OFF_TOPIC = "That doesn't seem to answer the question — want to try again?"
OFF_TOPIC_AGAIN = "That still doesn't answer the question, so let's move on."
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

    `probe`: the plan asks a hint question toward `facts.hint`; otherwise it asks `next_text`
    (or closes the interview when there is none).
    """
    lead, said, source = 0, "", "model"
    for sentence in model_sentences:
        said = f"{said} {sentence}"  # the leak rule reads the turn so far, not one sentence
        if ROLE_LEAK.search(sentence) or len(said.split()) > MAX_WORDS or gives_away(said, facts):
            break
        if sentence.endswith("?"):
            if lead and probe and sentence.count("?") == 1 and len(sentence.split()) >= 3:
                yield sentence, source
                return
            break  # no feedback before it, or the plan moves on and asks its own question
        if lead == 2 or "?" in sentence:
            break  # a third feedback sentence, or a question mid-sentence: the model is rambling
        lead += 1
        yield sentence, source
    if lead == 0:
        source = "template"
        yield fallback_lead(facts.verdict, seed), source
    elif source == "model":
        source = "model+plan"
    if probe:
        yield fallback_hint(seed), source
    elif next_text:
        yield f"Next question: {next_text}", source
    else:
        yield CLOSING, source


def gives_away(text: str, facts: AnswerFacts) -> bool:
    return bool(leaked_points(text, facts.missed, facts.question))
