"""Fixed phrasings: the guard's last resort, and the plan's own sentences.

The interviewer learns its feedback from the written demonstrations (data/raw/demonstrations),
never from these. They are what the service says when the model's words break the turn
contract (guard.py): a verdict-only lead and a hint question that names no missed point, so
even the fallback never reads the answer key aloud. `conversational` turns a bank question
into one spoken question; openers are the plan's lead sentence plus that question.
"""

from __future__ import annotations

import random
import re

from .turn import Verdict, topic_label

OPENER_LEADS = [
    "Let's start with {topic}.",
    "Our first topic is {topic}.",
    "Let's talk about {topic}.",
    "Welcome! We'll begin with {topic}.",
    "Thanks for joining; first up is {topic}.",
]
# A lead that says where the answer stands and nothing about what it missed.
FALLBACK_LEADS: dict[Verdict, list[str]] = {
    "complete": ["That covers what I was looking for.", "That's a full answer."],
    "partial": [
        "Part of that is right, but an important piece is still missing.",
        "There's something right in that, though the answer isn't complete yet.",
    ],
    "off_track": [
        "That doesn't get to the core of the question yet.",
        "I don't think that's quite it.",
    ],
    "off_topic": ["That doesn't seem to answer the question."],
}
# A hint that names no missed point: the question asked again, with a nudge toward what the
# answer still needs. Without the question a hint is about nothing in particular ("Can you think
# of a case your answer doesn't cover yet?"), so those lines are kept for a question that cannot
# be quoted in one sentence.
ANCHORED_HINTS = [
    "Coming back to “{question}”: what would make your answer complete?",
    "Think again about “{question}”: what does your answer still leave open?",
    "Staying with “{question}”: what else belongs in a full answer?",
]
FALLBACK_HINTS = [
    "What else would have to be true for your answer to be complete?",
    "If you had to explain this to a colleague, what would you add?",
    "Can you think of a case your answer doesn't cover yet?",
]
_QUOTABLE_WORDS = 20
_INNER_STOP = re.compile(r"[.!?;:\n“”\"]")
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


def fallback_lead(verdict: Verdict, seed: int) -> str:
    return random.Random(seed).choice(FALLBACK_LEADS[verdict])


def fallback_hint(question: str, seed: int) -> str:
    """The guard's hint question: the asked question quoted, when it is one short sentence."""
    asked = " ".join(question.split()).removesuffix("?").strip()
    rng = random.Random(seed)
    if asked and len(asked.split()) <= _QUOTABLE_WORDS and not _INNER_STOP.search(asked):
        return rng.choice(ANCHORED_HINTS).format(question=asked)
    return rng.choice(FALLBACK_HINTS)
