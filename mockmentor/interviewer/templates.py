"""Compose the interviewer's training targets from the facts of one record, nothing else.

A target is built from fixed phrasings (picked by a seeded generator) filled only with
strings taken from its source record: the bank or Mohler question, the reference answer's
key points, the human score band and the next question. So a target can never state a
fact its record does not hold; tests/test_dialogues.py checks exactly that.

  opener    "<lead naming the topic>. <the bank question, made conversational>?"
  feedback  covered and missed points -> praise the first covered point and/or say what
            is missing (as "close" when nothing matched but the score is at least
            `close_score`), optionally give the score band, then ask about the first
            missed point (reference answers lead with their main point); a complete
            answer gets praise and the next question instead.
"""

from __future__ import annotations

import random

from .turn import AnswerFacts, format_score, topic_label

OPENER_LEADS = [
    "Let's start with {topic}.",
    "Our first topic is {topic}.",
    "Let's talk about {topic}.",
    "Welcome! We'll begin with {topic}.",
    "Thanks for joining; first up is {topic}.",
]
# Colon and bracket frames: key points are sentences or bare noun phrases ("The memory
# address of its operand."), and these read naturally with either.
RIGHT_BUT = [
    "One part is right ({point}), but something important is missing.",
    "You covered this: {point}; but one key point is still missing.",
    "Good start with this point: {point}; but the answer is not complete yet.",
]
NOTHING_RIGHT = [
    "Your answer does not get to the main idea yet.",
    "That misses the key idea of the question.",
    "Not quite: the main point is missing.",
    "Let's dig deeper, because the core idea is not there yet.",
]
# Nothing matched, but the graders gave most of the marks: the idea is there, not its words.
CLOSE = [
    "You're close, but the key point needs to be stated more precisely.",
    "Partly there, but the main idea is not stated clearly yet.",
    "That is on the right track, though the core point is still vague.",
]
COMPLETE = [
    "That's a complete answer: {point}.",
    "Exactly right: {point}.",
    "Well done, you covered the key points.",
    "Great, that covers it.",
]
SCORE = [
    "That is about {score} out of 5.",
    "I'd put that at {score} out of 5.",
    "It scores around {score} out of 5, likely between {low} and {high}.",
]
PROBE = [
    "Can you expand on this point: {point}?",
    "How would you explain this part: {point}?",
    "What would you say about this: {point}?",
    "Could you walk me through this idea: {point}?",
]
NEXT = ["Next question: {question}", "Let's move on. {question}", "{question}"]
IMPERATIVES = {
    "explain",
    "describe",
    "define",
    "list",
    "name",
    "compare",
    "give",
    "discuss",
    "state",
    "outline",
}


def lower_first(text: str) -> str:
    """'A stack is ...' -> 'a stack is ...' but keep 'RAM', 'C++', 'Java' as they are."""
    text = text.strip().rstrip(".!;:")
    first, _, rest = text.partition(" ")
    if first[:1].isupper() and first[1:].islower() and first.lower() in _COMMON_STARTS:
        return f"{first.lower()} {rest}".strip()
    return text


_COMMON_STARTS = {
    "a", "an", "the", "it", "they", "this", "that", "these", "those", "to", "in", "by", "when", "if",
    "each", "every", "all", "one", "two", "both", "some", "most", "using", "with", "for", "we", "you",
    "there", "its", "their", "as", "at", "on", "from", "only", "after", "before", "because", "so",
}  # fmt: skip


def conversational(question: str) -> str | None:
    """A bank question as one spoken question ending in '?', or None when it cannot be one."""
    if "```" in question or "\n" in question.strip():
        return None  # code blocks and multi-paragraph prompts do not work as a spoken question
    text = " ".join(question.replace("`", "").split()).rstrip(" .:")
    if not text or len(text.split()) > 40:
        return None
    if text.endswith("?"):
        return text if text.count("?") == 1 else None
    if "?" in text:
        return None
    first = text.split()[0].lower()
    if first in IMPERATIVES:
        return f"Can you {first}{text[len(first) :]}?"
    return f"What can you tell me about {lower_first(text)}?"


def opener_target(topic: str, bank_question: str, rng: random.Random) -> str | None:
    question = conversational(bank_question)
    if question is None:
        return None
    lead = rng.choice(OPENER_LEADS).format(topic=topic_label(topic))
    return question if rng.random() < 0.2 else f"{lead} {question}"


def _probe(point: str, rng: random.Random) -> str:
    return rng.choice(PROBE).format(point=lower_first(point))


def feedback_target(
    facts: AnswerFacts, rng: random.Random, score_rate: float = 0.3, close_score: float = 3.0
) -> str | None:
    """One feedback turn for `facts`, or None when the facts give nothing to say."""
    covered, missed = facts.covered, facts.missed
    if missed:
        if covered:
            lead = rng.choice(RIGHT_BUT).format(point=lower_first(covered[0]))
        else:
            lead = rng.choice(CLOSE if facts.score >= close_score else NOTHING_RIGHT)
        question = _probe(missed[0], rng)
    elif covered:
        if facts.next_question is None or (nxt := conversational(facts.next_question)) is None:
            return None
        lead = rng.choice(COMPLETE).format(point=lower_first(covered[0]))
        question = rng.choice(NEXT).format(question=nxt)
    else:
        return None
    sentences = [lead]
    if rng.random() < score_rate:
        sentences.append(
            rng.choice(SCORE).format(
                score=format_score(facts.score),
                low=format_score(facts.score_low),
                high=format_score(facts.score_high),
            )
        )
    return " ".join([*sentences, question])


def fact_strings(facts: AnswerFacts) -> list[str]:
    """The record strings a feedback target may quote (used by the no-new-facts test)."""
    return [lower_first(p) for p in [*facts.covered, *facts.missed]] + (
        [conversational(facts.next_question) or ""] if facts.next_question else []
    )
