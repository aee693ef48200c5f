"""The interviewer's contract: what goes into one turn (messages) and what must come out.

Training targets, evaluation and the service all build prompts here and judge replies
with `parse_turn`, so the model is trained, measured and served on one format:

  opener    the topic and a bank question in -> an optional lead sentence + one question
  feedback  question, answer, score band, covered/missed key points and the next question
            in -> one or two feedback sentences + exactly one question
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

TurnKind = Literal["opener", "feedback"]

SYSTEM_PROMPT = (
    "You are MockMentor, a friendly technical interviewer. After each answer, say in one or two "
    "sentences what was right and what was missing, then ask exactly one question."
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
    """Everything the interviewer may say about one answer; it must not add facts."""

    topic: str
    question: str
    answer: str
    score: float
    score_low: float
    score_high: float
    covered: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    next_question: str | None = None


def opener_messages(topic: str, bank_question: str) -> list[dict[str, str]]:
    user = (
        f"Topic: {topic_label(topic)}\nBank question: {bank_question}\nOpen the interview with this question."
    )
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def _points(points: list[str]) -> str:
    return "\n".join(f"- {p}" for p in points) if points else "- none"


def feedback_messages(facts: AnswerFacts) -> list[dict[str, str]]:
    user = (
        f"Topic: {topic_label(facts.topic)}\n"
        f"Question: {facts.question}\n"
        f"Answer: {facts.answer}\n"
        f"Score: {format_score(facts.score)} out of 5 "
        f"(likely {format_score(facts.score_low)} to {format_score(facts.score_high)})\n"
        f"Covered:\n{_points(facts.covered)}\n"
        f"Missed:\n{_points(facts.missed)}\n"
        f"Next question: {facts.next_question or 'none'}\n"
        # The coverage rule decides what to ask; the model words it. Spelling the decision out
        # keeps a 135M model from guessing it from the score.
        f"Follow-up: {'ask about the first missed point' if facts.missed else 'ask the next question'}"
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
