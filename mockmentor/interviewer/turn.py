"""The interviewer's contract: what goes into one turn (messages) and what must come out.

Training targets, evaluation and the service all build prompts here and judge replies
with `parse_turn`, so the model is trained, measured and served on one format.

A feedback turn, as an expert interviewer gives it (the written demonstrations in
data/raw/demonstrations follow it, and the model learns it from them):
  (a) one sentence on what the answer got right, in the candidate's own terms, or that it is
      off track (or does not answer the question at all);
  (b) one sentence on what is missing or wrong and why it matters, without stating it
      (a complete answer may leave it out);
  (c) exactly one question: a hint toward the missed point, or the next planned question when
      the answer is complete, or an offer to repeat the question when it was not answered.
Nothing in (a)-(c) may give away a missed point (mockmentor/interviewer/leak.py): the answer
is revealed only in the session report.

The plan decides the verdict, which point to lead toward and what comes next; the model
words it. The prompt names the point to lead toward so the hint can target it, and says
plainly that it is not to be said.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

TurnKind = Literal["opener", "feedback"]
Verdict = Literal["complete", "partial", "off_track", "off_topic"]
VERDICTS: tuple[Verdict, ...] = ("complete", "partial", "off_track", "off_topic")

SYSTEM_PROMPT = (
    "You are MockMentor, a technical interviewer. After each answer, say in one sentence what the "
    "candidate got right in their own words (or that it is off track), in one sentence what is "
    "missing and why it matters without giving the answer away, then ask exactly one question."
)

TOPIC_LABELS = {
    "intro-programming": "programming fundamentals",
    "ml-theory": "machine learning",
    "coding": "coding",
    "system-design": "system design",
    "html": "HTML",
    "css": "CSS",
    "javascript": "JavaScript",
    "javascript-output": "JavaScript",
}

MAX_WORDS = 90
# Speaker tags or template tokens in a reply mean the model is writing both sides.
ROLE_LEAK = re.compile(r"<\|im_(start|end)\|>|\b(candidate|user|assistant|interviewer)\s*:", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!])\s+")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def topic_label(topic: str) -> str:
    return TOPIC_LABELS.get(topic, topic.replace("-", " "))


def format_score(value: float) -> str:
    """Scores are spoken to half points: 3.5, not 3.4871."""
    rounded = round(value * 2) / 2
    return f"{rounded:.1f}".removesuffix(".0")


@dataclass(frozen=True)
class AnswerFacts:
    """Everything the interviewer is told about one answer; it must not add facts."""

    topic: str
    question: str
    answer: str
    verdict: Verdict = "partial"
    covered: list[str] = field(default_factory=list)  # key points the answer made
    missed: list[str] = field(default_factory=list)  # key points it did not: never to be said
    hint: str | None = None  # the missed point the question leads toward
    next_question: str | None = None  # asked when the answer is complete

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, got {self.verdict!r}")


def plan_verdict(off_topic: bool, missed: list[str], score: float, wrong: float) -> Verdict:
    """The plan's verdict on an answer: not an answer, complete, wrong, or part of the way."""
    if off_topic:
        return "off_topic"
    if not missed:
        return "complete"
    return "off_track" if score <= wrong else "partial"


def opener_messages(topic: str, bank_question: str) -> list[dict[str, str]]:
    user = (
        f"Topic: {topic_label(topic)}\nBank question: {bank_question}\nOpen the interview with this question."
    )
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def _ask(facts: AnswerFacts) -> str:
    if facts.verdict == "off_topic":
        return "Then ask: offer to repeat or rephrase the question."
    if facts.verdict == "complete" or facts.hint is None:
        return f"Then ask the next question: {facts.next_question or 'none, the interview ends'}"
    return f"Lead toward, without saying it: {facts.hint}\nThen ask: one hint question."


def feedback_messages(facts: AnswerFacts) -> list[dict[str, str]]:
    # Topic, question and answer first: the service prefills the prompt up to the answer while
    # the candidate speaks, so everything that depends on the scoring comes after it.
    user = (
        f"Topic: {topic_label(facts.topic)}\n"
        f"Question: {facts.question}\n"
        f"Answer: {facts.answer}\n"
        f"Verdict: {facts.verdict.replace('_', ' ')}\n"
        f"Got right: {'; '.join(facts.covered) if facts.covered else 'nothing yet'}\n"
        f"{_ask(facts)}"
    )
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


class TurnFormatError(ValueError):
    """A reply that is not a well-formed interviewer turn; the message says which rule failed."""


@dataclass(frozen=True)
class ParsedTurn:
    lead: list[str]  # feedback sentences (or an opener's lead-in)
    question: str

    @property
    def text(self) -> str:
        return " ".join([*self.lead, self.question])


def parse_turn(reply: str, kind: TurnKind, max_words: int = MAX_WORDS) -> ParsedTurn:
    """Split a reply into lead sentences and its one closing question, or say what is wrong.

    Well-formed: no speaker tags; exactly one '?', at the very end; the question has at
    least three words; a feedback turn leads with one or two sentences, an opener with at
    most one; at most `max_words` words in all.
    """
    text = " ".join(reply.split())
    if not text:
        raise TurnFormatError("empty reply")
    if ROLE_LEAK.search(reply):
        raise TurnFormatError("reply contains a speaker tag or template token")
    if text.count("?") != 1:
        raise TurnFormatError(f"expected exactly one question mark, found {text.count('?')}")
    if not text.rstrip("\"')").endswith("?"):
        raise TurnFormatError("the question is not the last sentence")
    if len(text.split()) > max_words:
        raise TurnFormatError(f"{len(text.split())} words, over the limit of {max_words}")
    sentences = _SENTENCE_END.split(text)
    question, lead = sentences[-1], sentences[:-1]
    if len(question.split()) < 3:
        raise TurnFormatError("the question has fewer than three words")
    wanted = (1, 2) if kind == "feedback" else (0, 1)
    if not wanted[0] <= len(lead) <= wanted[1]:
        raise TurnFormatError(f"{kind} turn needs {wanted[0]}-{wanted[1]} lead sentences, found {len(lead)}")
    return ParsedTurn(lead, question)


def invented_numbers(reply: str, prompt: str) -> list[str]:
    """Numbers in the reply that the prompt never gave (an invented score, a made-up count)."""
    given = {float(n) for n in _NUMBER.findall(prompt)}
    return [n for n in _NUMBER.findall(reply) if float(n) not in given]
