"""The leak rule catches the answer key read aloud and passes honest hints."""

import pytest

from mockmentor.interviewer.leak import leaked_points, leaked_share, leaks

LEAF = "What is a leaf?"
LEAF_POINT = "A node that has no children."
LOOP = "What is the main difference between a while and a do...while statement?"
LOOP_POINT = "The block inside a do...while statement will execute at least once."
STACK = "What is a stack?"
STACK_POINT = "A data structure where the last element added is the first one removed."


@pytest.mark.parametrize(
    ("turn", "point", "question"),
    [
        # today's probes: the point read back word for word
        ("Could you walk me through this idea: A node that has no children?", LEAF_POINT, LEAF),
        (
            "Can you expand on this point: the block inside a do...while statement "
            "will execute at least once?",
            LOOP_POINT,
            LOOP,
        ),
        # near-verbatim: reordered filler, plural, a word dropped
        ("Good try. Isn't a leaf just a node with no children?", LEAF_POINT, LEAF),
        (
            "Remember that the block of a do...while executes at least once, so why does that matter?",
            LOOP_POINT,
            LOOP,
        ),
        ("You missed that the last element added is the first removed; can you say why?", STACK_POINT, STACK),
    ],
)
def test_catches_quotes(turn: str, point: str, question: str) -> None:
    assert leaks(turn, point, question), leaked_share(turn, point, question)


@pytest.mark.parametrize(
    ("turn", "point", "question"),
    [
        (
            "You said a leaf sits at the bottom of the tree. What can you say about what hangs below it?",
            LEAF_POINT,
            LEAF,
        ),
        (
            "Both loops repeat while the condition holds. If the condition is false from the start, "
            "how many times does each body run?",
            LOOP_POINT,
            LOOP,
        ),
        (
            "You described pushing and popping. "
            "If you push three plates and pop one, which plate comes back?",
            STACK_POINT,
            STACK,
        ),
    ],
)
def test_passes_honest_hints(turn: str, point: str, question: str) -> None:
    assert not leaks(turn, point, question), leaked_share(turn, point, question)


def test_question_words_do_not_count() -> None:
    # "stack" is the question's own word: naming it gives nothing away.
    point = "A stack is last in, first out."
    assert leaked_share("So what makes a stack different?", point, "What is a stack?") == 0
    assert leaked_points("It is last in, first out, right?", [point, LEAF_POINT], "What is a stack?") == [
        point
    ]
