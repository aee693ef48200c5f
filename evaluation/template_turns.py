"""The previous interviewer's turns on the held-out prompts: the baseline the new one must beat.

Until the written demonstrations, the interviewer was a LoRA model trained on ~25 fixed phrasings
filled with the record's strings (mockmentor/interviewer/templates.py before commit d1bc844), and
it reproduced them on 97 % of held-out turns. That model cannot be rebuilt on today's prompts
(its prompt format and training data are gone), so its turns are regenerated here from the same
phrasings and the same rule, filled with the facts of each held-out prompt. The rule is kept as
it was, quirks included: it praises the first covered point by quoting it, calls an answer with
most of the marks "on the right track" even when it is off topic, and probes by reading the
first missed point aloud. Where it had no turn to give (nothing covered, nothing missed) it said
the closing line.

The facts given here are the writers' (covered and missed points judged by people), better than
the old coverage rule had, so this baseline is, if anything, kinder to the old interviewer.
"""

from __future__ import annotations

import random

from mockmentor.interviewer.templates import conversational, lower_first

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
PROBE = [
    "Can you expand on this point: {point}?",
    "How would you explain this part: {point}?",
    "What would you say about this: {point}?",
    "Could you walk me through this idea: {point}?",
]
NEXT = ["Next question: {question}", "Let's move on. {question}", "{question}"]
CLOSING = "That completes this part. Thank you!"
# The old service's scores for bank answers came from the scorer; with no grade to quote, a
# written verdict stands in for the band the old rule branched on.
SCORE_OF_VERDICT = {"complete": 5.0, "partial": 3.0, "off_track": 1.0, "off_topic": 3.0}


def template_turn(facts: dict, score: float | None, seed: int) -> str:
    """The old interviewer's turn for one prompt's facts (a seeded choice of phrasings).

    The old turns sometimes read out the score their prompt gave; today's prompts give none, so
    that sentence is left out rather than counted against the old model as an invented number.
    """
    rng = random.Random(seed)
    score = score if score is not None else SCORE_OF_VERDICT[facts["verdict"]]
    covered, missed = facts["covered"], facts["missed"]
    if missed:
        if covered:
            lead = rng.choice(RIGHT_BUT).format(point=lower_first(covered[0]))
        else:
            lead = rng.choice(CLOSE if score >= 3.0 else NOTHING_RIGHT)
        question = rng.choice(PROBE).format(point=lower_first(missed[0]))
    elif covered:
        following = conversational(facts["next_question"] or "") if facts["next_question"] else None
        lead = rng.choice(COMPLETE).format(point=lower_first(covered[0]))
        question = rng.choice(NEXT).format(question=following) if following else CLOSING
    else:
        return CLOSING
    return f"{lead} {question}"
