"""The reply guard: the interviewer's words, held to the turn contract as they stream.

The plan decides the verdict, which point to lead toward and what comes next; the model words
it. Each of the model's sentences is spoken if it keeps the contract and skipped if it does not:
at most two before the question, within MAX_WORDS, and none that gives away a point the
candidate missed, whole or one fact of it (the leak rule, leak.py). A broken sentence is
dropped, not the rest of the reply, so a good hint question after a rambling or leaking
sentence still reaches the candidate.
Speaker tags end the reading (the model is writing both sides), and so do words the token
limit cut off mid-sentence, which are never spoken. When the plan leads toward a
missed point, the model's first hint question that passes the same checks and asks more than
the question already asked is kept; when the answer is complete the plan's next question is
asked. Whatever the model did not deliver is completed from the templates, which name no
missed point either. Each sentence is released the moment it is complete, so
speech can start before the model has finished.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .leak import content_words, leaked_points
from .templates import fallback_hint, fallback_lead
from .turn import MAX_WORDS, ROLE_LEAK, AnswerFacts

CLOSING = "That was the last question; your report is ready."
# An answer the scorer flags as not addressing the question never reaches the model: no praise,
# the question again (once), then the next one.
OFF_TOPIC = "That doesn't seem to answer the question — want to try again?"
OFF_TOPIC_AGAIN = "That still doesn't answer the question, so let's move on."
_BOUNDARY = re.compile(r"(?<=[.!?])\s+")
_ENDED = re.compile(r"[.!?][\"'”’)]*$")


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
    leads, said, source = 0, "", "model"
    for sentence in model_sentences:
        if ROLE_LEAK.search(sentence):
            break  # the model is writing both sides: nothing after this is a reply
        if not _ENDED.search(sentence):
            break  # the words the model was cut off in (max_new_tokens): never a sentence
        if gives_away(f"{said} {sentence}", facts) or len(f"{said} {sentence}".split()) > MAX_WORDS:
            continue  # never spoken; the model's next sentence may still be usable
        if sentence.endswith("?") and sentence.count("?") == 1:
            if not probe:
                break  # the plan moves on and asks its own question
            if not hint_question(sentence, facts):
                continue
            if leads == 0:
                source = "template"
                yield fallback_lead(facts.verdict, seed), source
            yield sentence, "model" if source == "model" else "model+plan"
            return
        if leads == 2 or "?" in sentence:
            continue  # a third feedback sentence, or a question mid-sentence: skipped, not spoken
        leads += 1
        said = f"{said} {sentence}"  # the leak rule reads the turn so far, not one sentence
        yield sentence, source
    if leads == 0:
        source = "template"
        yield fallback_lead(facts.verdict, seed), source
    elif source == "model":
        source = "model+plan"
    if probe:
        yield fallback_hint(facts.question, seed), source
    elif next_text:
        yield f"Next question: {next_text}", source
    else:
        yield CLOSING, source


def hint_question(sentence: str, facts: AnswerFacts) -> bool:
    """A question that can lead somewhere: a few words, and not the asked question again."""
    own = set(content_words(sentence)) - set(content_words(facts.question))
    return len(sentence.split()) >= 3 and bool(own)


def gives_away(text: str, facts: AnswerFacts) -> bool:
    return bool(leaked_points(text, facts.missed, facts.question, facts.answer))
