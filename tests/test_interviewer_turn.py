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
    plan_verdict,
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
    facts = AnswerFacts("intro-programming", "What is 2 + 2?", "4 or 5", missed=["It is 4."], hint="It is 4.")
    prompt = " ".join(m["content"] for m in feedback_messages(facts))
    assert invented_numbers("You said 4 or 5. Why is it 4?", prompt) == []
    assert invented_numbers("I'd give it 8/10. Why?", prompt) == ["8", "10"]
    assert format_score(3.26) == "3.5" and format_score(4.0) == "4"


def test_the_prompt_names_the_plan_and_puts_the_answer_before_it() -> None:
    base = AnswerFacts("intro-programming", "What is a leaf?", "degree 0")
    hint = AnswerFacts(
        **{**base.__dict__, "missed": ["A node with no children."], "hint": "A node with no children."}
    )
    done = AnswerFacts(**{**base.__dict__, "verdict": "complete", "next_question": "What is a tree?"})
    prompts = [feedback_messages(f)[-1]["content"] for f in (base, hint, done)]
    # the service prefills up to the answer while the candidate speaks: that part is shared
    prefix = prompts[0][: prompts[0].index("Answer:")]
    assert all(p.startswith(prefix) for p in prompts)
    assert "without saying it: A node with no children." in prompts[1]
    assert "next question: What is a tree?" in prompts[2] and "Verdict: complete" in prompts[2]
    with pytest.raises(ValueError, match="verdict"):
        AnswerFacts("intro-programming", "Q?", "A", verdict="great")  # type: ignore[arg-type]


def test_plan_verdict() -> None:
    assert plan_verdict(True, [], 5.0, wrong=2.0) == "off_topic"
    assert plan_verdict(False, [], 4.0, wrong=2.0) == "complete"
    assert plan_verdict(False, ["x"], 1.5, wrong=2.0) == "off_track"
    assert plan_verdict(False, ["x"], 3.0, wrong=2.0) == "partial"
