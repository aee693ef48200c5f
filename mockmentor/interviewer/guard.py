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

The candidate waits for the first sentence, half of which is usually its opening clause ("Two
solid similarities there, since ..."). With `opening_words`, that clause is released as soon
as the model has written it, if it keeps the contract by itself. It cannot be taken back, so
when the rest of that sentence breaks the contract the sentence is cut after its last clause
that keeps it, where before the whole sentence was skipped; when no clause after the opening
keeps it, the opening is ended by a line that names nothing (OPENING_ENDINGS). The rule is
on the text alone, so `evaluate_interviewer` serves the held-out replies by it exactly as the
service does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .leak import content_words, leaked_points
from .templates import fallback_hint, fallback_lead
from .turn import MAX_WORDS, ROLE_LEAK, AnswerFacts, Verdict

CLOSING = "That was the last question; your report is ready."
# An answer the scorer flags as not addressing the question never reaches the model: no praise,
# the question again (once), then the next one.
OFF_TOPIC = "That doesn't seem to answer the question — want to try again?"
OFF_TOPIC_AGAIN = "That still doesn't answer the question, so let's move on."
# The end of a first sentence whose opening clause was spoken ahead, when nothing the model wrote
# after it may be said: where the answer stands, naming nothing ("A FIFO queue is the right one,
# but an important piece is still missing.").
OPENING_ENDINGS: dict[Verdict, str] = {
    "complete": "and that covers what I was looking for.",
    "partial": "but an important piece is still missing.",
    "off_track": "but that doesn't get to the core of the question yet.",
    "off_topic": "but that doesn't answer the question.",
}
_BOUNDARY = re.compile(r"(?<=[.!?])\s+")
ENDED = re.compile(r"[.!?][\"'”’)]*$")
# A word that ends a clause: comma, semicolon, colon, dash (the marks Piper's speech_parts splits at;
# model packages never import each other, so mockmentor/speech/synthesis.py holds its own copy).
CLAUSE_END = re.compile(r"[,;:\u2013\u2014]$")


class Opening(str):
    """The first sentence's opening clause, read ahead of the sentence it begins."""


def opening_clause(text: str, min_words: int) -> Opening | None:
    """`text`'s words up to the first that ends a clause (comma, semicolon, colon, dash) at or
    after `min_words` words, once a word follows it (so "1," of "1,000" is not taken for one)."""
    for n, word in enumerate(re.finditer(r"\S+", text), start=1):
        if n >= min_words and CLAUSE_END.search(word.group()) and word.end() < len(text):
            return Opening(text[: word.end()])
    return None


def sentence_stream(pieces: Iterator[str], opening_words: int = 0, said: str = "") -> Iterator[str]:
    """Complete sentences out of a token stream, each as soon as its end is seen. With
    `opening_words`, the first sentence's opening clause of at least that many words comes
    before it as an `Opening`, as soon as it is written. `said`: an opening made ahead of the
    stream (the reply's first words, which `pieces` go on from): it is that `Opening`, at once."""
    if said:
        yield Opening(said)
    buffer, opened = said, bool(said) or not opening_words
    for piece in pieces:
        buffer += piece
        *done, buffer = _BOUNDARY.split(buffer)
        for sentence in (s.strip() for s in done if s.strip()):
            if not opened:
                opened = True
                yield from filter(None, [opening_clause(sentence, opening_words)])
            yield sentence
        if not opened and (opening := opening_clause(buffer.lstrip(), opening_words)):
            opened = True
            yield opening
    if buffer.strip():
        if not opened:
            yield from filter(None, [opening_clause(buffer.strip(), opening_words)])
        yield buffer.strip()


def guarded_feedback(
    model_sentences: Iterator[str], facts: AnswerFacts, probe: bool, next_text: str | None, seed: int
) -> Iterator[tuple[str, str]]:
    """(sentence, source) pairs of one feedback turn, each yielded as soon as it is ready.

    `probe`: the plan asks a hint question toward `facts.hint`; otherwise it asks `next_text`
    (or closes the interview when there is none).
    """
    leads, said, source = 0, "", "model"
    opening = ""  # the first sentence's opening clause, spoken before the sentence ended
    for sentence in model_sentences:
        if isinstance(sentence, Opening):
            if leads == 0 and not opening and keeps_contract(sentence, facts):
                opening = str(sentence)
                yield opening, source
            continue
        if opening and leads == 0:  # the sentence that opening begins: finish it, as well as it can be
            kept = _kept_of(sentence, opening, facts)
            leads, said = 1, kept
            if len(kept) > len(opening):
                yield kept[len(opening) :].strip(), source
            if kept != sentence and (ROLE_LEAK.search(sentence) or not ENDED.search(sentence)):
                break
            continue
        if ROLE_LEAK.search(sentence):
            break  # the model is writing both sides: nothing after this is a reply
        if not ENDED.search(sentence):
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


def keeps_contract(text: str, facts: AnswerFacts) -> bool:
    """A feedback sentence, or the start of one, that may be spoken: no speaker tag, no
    question, nothing given away, within MAX_WORDS (an opening made ahead of the final answer is
    used only if it still keeps it)."""
    return not (
        ROLE_LEAK.search(text) or "?" in text or gives_away(text, facts) or len(text.split()) > MAX_WORDS
    )


def _kept_of(sentence: str, opening: str, facts: AnswerFacts) -> str:
    """The first sentence, its `opening` spoken already: whole if it keeps the contract, else
    cut after its last clause that does and ended there; when none after the opening does, the
    opening ended by a line that names nothing (its clause mark stays: it has been spoken)."""
    if ENDED.search(sentence) and keeps_contract(sentence, facts):
        return sentence
    for word in reversed(list(re.finditer(r"\S+", sentence))):
        cut = sentence[: word.end()]
        if word.end() > len(opening) and CLAUSE_END.search(word.group()) and keeps_contract(cut, facts):
            return f"{cut[:-1]}."
    return f"{opening} {OPENING_ENDINGS[facts.verdict]}"
