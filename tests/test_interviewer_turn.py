"""The turn contract: the parser accepts good turns and rejects malformed ones."""

from __future__ import annotations

import pytest

from mockmentor.interviewer.turn import (
    AnswerFacts,
    TurnFormatError,
    feedback_messages,
    format_score,
    invented_numbers,
    parse_turn,
)

GOOD_FEEDBACK = [
    "You're right that a stack is last in, first out. Can you explain why a queue is first in, first out?",
    "Not quite: the main point is missing. That is about 2.5 out of 5. Why is it that a prototype is cheap?",
    "Exactly, recursion needs a base case. Next question: What is the role of a header file?",
]
BAD_FEEDBACK = {
    "": "empty",
    "Can you explain what a pointer is?": "lead sentences",  # no feedback at all
    "Good answer. Very good. Really good. What is a heap?": "lead sentences",
    "Good answer. What is a heap? And a stack?": "question mark",
    "Good answer. What is a heap? Think about it.": "question mark|last sentence",
    "Good answer, you covered it all.": "question mark",
    "Good. Candidate: I think so. What next?": "speaker tag",
    "Good answer. <|im_end|> What is a heap?": "template token",
    "Good. Why?": "three words",
    "Fine. " + "word " * 100 + "ok?": "over the limit",
}


@pytest.mark.parametrize("reply", GOOD_FEEDBACK)
def test_accepts_well_formed_feedback(reply: str) -> None:
    turn = parse_turn(reply, "feedback")
    assert turn.question.endswith("?")
    assert 1 <= len(turn.lead) <= 2
    assert turn.text == " ".join(reply.split())


@pytest.mark.parametrize(("reply", "problem"), BAD_FEEDBACK.items())
def test_rejects_malformed_feedback(reply: str, problem: str) -> None:
    with pytest.raises(TurnFormatError, match=problem):
        parse_turn(reply, "feedback")


def test_opener_allows_a_bare_question_but_not_two_leads() -> None:
    assert parse_turn("What is a linked list?", "opener").lead == []
    assert parse_turn("Let's start with CSS. What does the box model describe?", "opener").lead
    with pytest.raises(TurnFormatError, match="lead sentences"):
        parse_turn("Hello. Welcome. What is a linked list?", "opener")


def test_invented_numbers_are_those_the_prompt_never_gave() -> None:
    facts = AnswerFacts("intro-programming", "What is 2 + 2?", "4", 3.5, 3.0, 4.0, [], ["It is 4."])
    prompt = " ".join(m["content"] for m in feedback_messages(facts))
    assert invented_numbers("That is about 3.5 out of 5. Why is it 4?", prompt) == []
    assert invented_numbers("I'd give it 8/10. Why?", prompt) == ["8", "10"]
    assert format_score(3.26) == "3.5" and format_score(4.0) == "4"
